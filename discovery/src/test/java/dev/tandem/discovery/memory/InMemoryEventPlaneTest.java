package dev.tandem.discovery.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.discovery.contract.EventPlaneContract;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The event plane contract on the in-process implementation, and what is particular to it. */
class InMemoryEventPlaneTest extends EventPlaneContract {

    @Override
    protected EventPlane newPlane() {
        return new InMemoryEventPlane();
    }

    private InMemoryEventPlane memoryPlane() {
        return (InMemoryEventPlane) plane;
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
        assertThat(memoryPlane().dropped()).isEqualTo(5);
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
