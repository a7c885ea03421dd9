package dev.tandem.discovery.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.events.EventMessage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.Subjects;
import dev.tandem.api.events.Subscription;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The {@link EventPlane} contract, run against every implementation: a fresh plane per test. */
public abstract class EventPlaneContract {

    protected EventPlane plane;

    protected abstract EventPlane newPlane() throws Exception;

    @BeforeEach
    void openPlane() throws Exception {
        plane = newPlane();
    }

    @AfterEach
    void closePlane() {
        if (plane != null) {
            plane.close();
        }
    }

    protected static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    protected static String text(EventMessage m) {
        return new String(m.payload(), StandardCharsets.UTF_8);
    }

    /** A subscription's messages, collected without blocking the delivery thread. */
    public static final class Inbox {
        public final LinkedBlockingQueue<EventMessage> queue = new LinkedBlockingQueue<>();

        public void accept(EventMessage m) {
            queue.add(m);
        }

        public EventMessage next() throws InterruptedException {
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
        Inbox exact = new Inbox();
        plane.subscribe("a.*", star::accept);
        plane.subscribe("a.>", rest::accept);
        plane.subscribe("a.*.c", exact::accept);
        plane.publish("a.b.c", bytes("deep"));
        plane.publish("a", bytes("bare"));
        plane.publish("a.b", bytes("shallow"));
        plane.publish("a.b.d", bytes("other leaf"));
        plane.publish("b.b.c", bytes("other root"));
        assertThat(text(rest.next())).isEqualTo("deep");
        assertThat(text(rest.next())).isEqualTo("shallow");
        assertThat(text(rest.next())).isEqualTo("other leaf");
        assertThat(text(star.next())).isEqualTo("shallow");
        assertThat(text(exact.next())).isEqualTo("deep");
        // A marker on every subscription: nothing else may come before it.
        plane.publish("a.end.c", bytes("end"));
        assertThat(text(rest.next())).isEqualTo("end");
        assertThat(text(exact.next())).isEqualTo("end");
        plane.publish("a.end", bytes("end"));
        assertThat(text(star.next())).isEqualTo("end");
        assertThat(rest.next().subject()).isEqualTo("a.end");
        assertThat(star.queue).isEmpty();
        assertThat(rest.queue).isEmpty();
        assertThat(exact.queue).isEmpty();
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
    void anEmptyPayloadArrivesEmpty() throws Exception {
        Inbox inbox = new Inbox();
        plane.subscribe("empty", inbox::accept);
        plane.publish("empty", new byte[0]);
        assertThat(inbox.next().payload()).isEmpty();
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
    void aSubscriptionClosedFromItsOwnHandlerGetsNothingMore() throws Exception {
        Inbox inbox = new Inbox();
        Subscription[] self = new Subscription[1];
        CountDownLatch subscribed = new CountDownLatch(1);
        self[0] = plane.subscribe("once", m -> {
            inbox.accept(m);
            try {
                subscribed.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            self[0].close();
        });
        subscribed.countDown();
        Inbox after = new Inbox();
        plane.subscribe("once", after::accept);
        plane.publish("once", bytes("1"));
        plane.publish("once", bytes("2"));
        assertThat(text(after.next())).isEqualTo("1");
        assertThat(text(after.next())).isEqualTo("2");
        assertThat(text(inbox.next())).isEqualTo("1");
        Thread.sleep(100);
        assertThat(inbox.queue).isEmpty();
    }
}
