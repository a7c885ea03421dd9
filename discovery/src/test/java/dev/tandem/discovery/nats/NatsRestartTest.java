package dev.tandem.discovery.nats;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.events.EventMessage;
import dev.tandem.discovery.contract.EventPlaneContract.Inbox;
import dev.tandem.discovery.testing.NatsServer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** nats-server restarting (same port) under connected publishers and subscribers. */
class NatsRestartTest {

    private NatsServer nats;

    @BeforeEach
    void startNats() {
        nats = NatsServer.launch();
    }

    @AfterEach
    void stopNats() {
        if (nats != null) {
            nats.close();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(EventMessage m) {
        return new String(m.payload(), StandardCharsets.UTF_8);
    }

    private static void awaitConnected(NatsEventPlane p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!p.isConnected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(p.isConnected()).as("reconnected within 15 s").isTrue();
    }

    @Test
    void publishAndSubscribeWorkAgainAfterTheServerRestarts() throws Exception {
        try (NatsEventPlane publisher = NatsEventPlane.connect(nats.uri());
                NatsEventPlane subscriber = NatsEventPlane.connect(nats.uri())) {
            Inbox inbox = new Inbox();
            subscriber.subscribe("r.>", inbox::accept);
            publisher.publish("r.x", bytes("before"));
            assertThat(text(inbox.next())).isEqualTo("before");

            nats.kill();
            awaitDisconnected(publisher);
            awaitDisconnected(subscriber);

            // While the server is down: publishing only buffers (never blocks for long), subscribing still works.
            long start = System.nanoTime();
            for (int i = 0; i < 1_000; i++) {
                publisher.publish("r.x", bytes("during"));
            }
            long publishMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(publishMs).as("1,000 publishes while disconnected").isLessThan(1_000);
            Inbox late = new Inbox();
            subscriber.subscribe("late.*", late::accept);

            nats.start(); // the same port
            awaitConnected(publisher);
            awaitConnected(subscriber);

            // Both sides re-subscribed / reconnected: a probe gets through (messages buffered during the outage
            // may or may not have made it: at most once).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            boolean through = false;
            while (!through && System.nanoTime() < deadline) {
                publisher.publish("r.probe", bytes("probe"));
                EventMessage m = inbox.queue.poll(100, TimeUnit.MILLISECONDS);
                while (m != null && !through) {
                    through = m.subject().equals("r.probe");
                    m = inbox.queue.poll();
                }
            }
            assertThat(through).as("a message gets through after the restart").isTrue();
            Thread.sleep(200);
            inbox.queue.clear();

            int n = 1_000;
            for (int i = 0; i < n; i++) {
                publisher.publish("r.after", bytes(Integer.toString(i)));
            }
            for (int i = 0; i < n; i++) {
                EventMessage m = inbox.next();
                if (m.subject().equals("r.probe")) {
                    i--;
                    continue;
                }
                assertThat(m.subject()).isEqualTo("r.after");
                assertThat(text(m)).isEqualTo(Integer.toString(i));
            }
            publisher.publish("late.x", bytes("subscribed while the server was down"));
            assertThat(text(late.next())).isEqualTo("subscribed while the server was down");
        }
    }

    private static void awaitDisconnected(NatsEventPlane p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (p.isConnected() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(p.isConnected()).as("noticed the server is gone").isFalse();
    }
}
