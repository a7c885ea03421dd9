package dev.tandem.discovery.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.events.EventMessage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.api.events.Subjects;
import dev.tandem.api.events.Subscription;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InMemoryEventPlaneTest {

    private final InMemoryEventPlane plane = new InMemoryEventPlane();

    @AfterEach
    void close() {
        plane.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(EventMessage m) {
        return new String(m.payload(), StandardCharsets.UTF_8);
    }

    /** A subscription's messages, collected without blocking the delivery thread. */
    private static final class Inbox {
        final LinkedBlockingQueue<EventMessage> queue = new LinkedBlockingQueue<>();

        void accept(EventMessage m) {
            queue.add(m);
        }

        EventMessage next() throws InterruptedException {
            EventMessage m = queue.poll(30, TimeUnit.SECONDS);
            assertThat(m).as("a message within 30 s").isNotNull();
            return m;
        }
    }

    @Test
    void deliversOnlyMessagesWhoseSubjectMatchesThePattern() throws Exception {
        Inbox kv = new Inbox();
        plane.subscribe(Subjects.allKvEvents("default"), kv::accept);
        plane.publish(Subjects.load("default", "w1"), bytes("load"));
        plane.publish(Subjects.kvEvents("other", "w1"), bytes("other namespace"));
        plane.publish(Subjects.kvEvents("default", "w1"), bytes("kv"));
        EventMessage m = kv.next();
        // Delivery is in order, so anything wrongly delivered before would have come first.
        assertThat(m.subject()).isEqualTo("tandem.v1.kv.default.w1");
        assertThat(text(m)).isEqualTo("kv");
        assertThat(kv.queue).isEmpty();
    }

    @Test
    void wildcardsMatchOneTokenOrTheRest() throws Exception {
        Inbox star = new Inbox();
        Inbox rest = new Inbox();
        plane.subscribe("a.*", star::accept);
        plane.subscribe("a.>", rest::accept);
        plane.publish("a.b.c", bytes("deep"));
        plane.publish("a", bytes("bare"));
        plane.publish("a.b", bytes("shallow"));
        assertThat(text(rest.next())).isEqualTo("deep");
        assertThat(text(rest.next())).isEqualTo("shallow");
        assertThat(text(star.next())).isEqualTo("shallow");
        assertThat(star.queue).isEmpty();
        assertThat(rest.queue).isEmpty();
    }

    @Test
    void everyMatchingSubscriptionGetsEachMessageInPublishOrder() throws Exception {
        int n = 5_000;
        List<Inbox> inboxes = List.of(new Inbox(), new Inbox(), new Inbox());
        plane.subscribe("s.>", inboxes.get(0)::accept);
        plane.subscribe("s.*", inboxes.get(1)::accept);
        plane.subscribe("s.x", inboxes.get(2)::accept);
        for (int i = 0; i < n; i++) {
            plane.publish("s.x", bytes(Integer.toString(i)));
        }
        for (Inbox inbox : inboxes) {
            for (int i = 0; i < n; i++) {
                assertThat(text(inbox.next())).isEqualTo(Integer.toString(i));
            }
        }
        assertThat(plane.dropped()).isZero();
    }

    @Test
    void messagesOfOnePublisherOnSeveralSubjectsKeepTheirOrder() throws Exception {
        Inbox all = new Inbox();
        plane.subscribe(">", all::accept);
        for (int i = 0; i < 100; i++) {
            plane.publish("topic." + (i % 3), bytes(Integer.toString(i)));
        }
        for (int i = 0; i < 100; i++) {
            EventMessage m = all.next();
            assertThat(m.subject()).isEqualTo("topic." + (i % 3));
            assertThat(text(m)).isEqualTo(Integer.toString(i));
        }
    }

    @Test
    void aHandlerRunsOneMessageAtATime() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(2_000);
        plane.subscribe("x", m -> {
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            Thread.yield();
            inFlight.decrementAndGet();
            done.countDown();
        });
        Thread[] publishers = new Thread[4];
        for (int t = 0; t < publishers.length; t++) {
            publishers[t] = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 500; i++) {
                    plane.publish("x", new byte[] {1});
                }
            });
        }
        for (Thread t : publishers) {
            t.join();
        }
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(maxInFlight.get()).isEqualTo(1);
    }

    @Test
    void eachSubscriberGetsItsOwnCopyOfThePayload() throws Exception {
        Inbox first = new Inbox();
        Inbox second = new Inbox();
        plane.subscribe("p", first::accept);
        plane.subscribe("p", second::accept);
        byte[] payload = bytes("abc");
        plane.publish("p", payload);
        payload[0] = 'X';
        EventMessage a = first.next();
        EventMessage b = second.next();
        assertThat(text(a)).isEqualTo("abc");
        a.payload()[1] = 'Y';
        assertThat(text(b)).isEqualTo("abc");
        assertThat(a.payload()).isNotSameAs(b.payload());
    }

    @Test
    void aFailingHandlerStillReceivesLaterMessages() throws Exception {
        Inbox inbox = new Inbox();
        plane.subscribe("f", m -> {
            inbox.accept(m);
            if (text(m).equals("boom")) {
                throw new IllegalStateException("handler failure");
            }
        });
        plane.publish("f", bytes("boom"));
        plane.publish("f", bytes("after"));
        assertThat(text(inbox.next())).isEqualTo("boom");
        assertThat(text(inbox.next())).isEqualTo("after");
    }

    @Test
    void closingASubscriptionStopsItsDeliveries() throws Exception {
        Inbox closed = new Inbox();
        Inbox open = new Inbox();
        Subscription s = plane.subscribe("c", closed::accept);
        plane.subscribe("c", open::accept);
        plane.publish("c", bytes("1"));
        assertThat(text(closed.next())).isEqualTo("1");
        s.close();
        plane.publish("c", bytes("2"));
        plane.publish("c", bytes("3"));
        assertThat(text(open.next())).isEqualTo("1");
        assertThat(text(open.next())).isEqualTo("2");
        assertThat(text(open.next())).isEqualTo("3");
        assertThat(closed.queue).isEmpty();
        s.close(); // idempotent
    }

    @Test
    void closingThePlaneEndsEverySubscription() throws Exception {
        Inbox old = new Inbox();
        plane.subscribe(">", old::accept);
        plane.close();
        Inbox fresh = new Inbox();
        plane.subscribe(">", fresh::accept);
        plane.publish("after.close", bytes("x"));
        assertThat(text(fresh.next())).isEqualTo("x");
        assertThat(old.queue).isEmpty();
    }

    @Test
    void aSlowSubscriberLosesMessagesBeyondItsQueueWithoutBlockingThePublisher() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger received = new AtomicInteger();
        List<Integer> order = new ArrayList<>();
        CountDownLatch all = new CountDownLatch(1 + InMemoryEventPlane.QUEUE_CAPACITY);
        plane.subscribe("slow", m -> {
            entered.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            order.add(java.nio.ByteBuffer.wrap(m.payload()).getInt());
            received.incrementAndGet();
            all.countDown();
        });
        plane.publish("slow", java.nio.ByteBuffer.allocate(4).putInt(0).array());
        assertThat(entered.await(30, TimeUnit.SECONDS)).isTrue();
        // The handler holds message 0; the queue takes QUEUE_CAPACITY more, and the last 5 are dropped.
        for (int i = 1; i <= InMemoryEventPlane.QUEUE_CAPACITY + 5; i++) {
            plane.publish("slow", java.nio.ByteBuffer.allocate(4).putInt(i).array());
        }
        assertThat(plane.dropped()).isEqualTo(5);
        release.countDown();
        assertThat(all.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(received.get()).isEqualTo(1 + InMemoryEventPlane.QUEUE_CAPACITY);
        for (int i = 0; i < order.size(); i++) {
            assertThat(order.get(i)).isEqualTo(i);
        }
    }

    @Test
    void theMemorySchemeOpensIndependentPlanes() throws Exception {
        try (EventPlane a = EventPlaneProvider.open(URI.create("memory:local"));
                EventPlane b = EventPlaneProvider.open(URI.create("memory:local"))) {
            assertThat(a).isInstanceOf(InMemoryEventPlane.class).isNotSameAs(b);
            Inbox onA = new Inbox();
            Inbox onB = new Inbox();
            a.subscribe("t", onA::accept);
            b.subscribe("t", onB::accept);
            a.publish("t", bytes("for a"));
            b.publish("t", bytes("for b"));
            assertThat(text(onA.next())).isEqualTo("for a");
            assertThat(text(onB.next())).isEqualTo("for b");
            assertThat(onA.queue).isEmpty();
            assertThat(onB.queue).isEmpty();
        }
    }

    @Test
    void anUnknownSchemeIsRejected() {
        assertThatThrownBy(() -> EventPlaneProvider.open(URI.create("carrier-pigeon://x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("carrier-pigeon");
    }
}
