package dev.tandem.discovery.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.events.EventMessage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.api.events.Subjects;
import dev.tandem.discovery.contract.EventPlaneContract;
import dev.tandem.discovery.testing.NatsServer;
import dev.tandem.discovery.testing.ServerProcess;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The event plane contract on a real nats-server (one for the class; a fresh connection per test), and what is
 * particular to NATS: several connections (processes) on one server, URIs, close flushing what was published.
 */
class NatsEventPlaneTest extends EventPlaneContract {

    private static NatsServer nats;

    /** Started on first use, from each test: a missing nats-server reports every test as skipped. */
    private static void ensureNats() {
        if (nats == null) {
            nats = NatsServer.launch();
        }
    }

    @AfterAll
    static void stopNats() {
        if (nats != null) {
            nats.close();
        }
        nats = null;
    }

    @Override
    protected EventPlane newPlane() throws IOException {
        ensureNats();
        return NatsEventPlane.connect(nats.uri());
    }

    @Test
    void theNatsSchemeOpensAConnectedPlane() throws Exception {
        try (EventPlane p = EventPlaneProvider.open(nats.uri())) {
            assertThat(p).isInstanceOf(NatsEventPlane.class);
            assertThat(((NatsEventPlane) p).isConnected()).isTrue();
        }
    }

    @Test
    void natsUrisNameOneOrMoreServers() {
        assertThat(NatsEventPlane.servers(URI.create("nats://10.0.0.1:4222"))).containsExactly("nats://10.0.0.1:4222");
        assertThat(NatsEventPlane.servers(URI.create("nats://a:1,b"))).containsExactly("nats://a:1", "nats://b:4222");
        assertThatThrownBy(() -> NatsEventPlane.servers(URI.create("etcd://a:1")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NatsEventPlane.servers(URI.create("nats:local")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theReconnectDelayDoublesUpToTwoSeconds() {
        assertThat(NatsEventPlane.reconnectDelay(1)).isEqualTo(Duration.ofMillis(100));
        assertThat(NatsEventPlane.reconnectDelay(2)).isEqualTo(Duration.ofMillis(200));
        assertThat(NatsEventPlane.reconnectDelay(5)).isEqualTo(Duration.ofMillis(1_600));
        assertThat(NatsEventPlane.reconnectDelay(6)).isEqualTo(Duration.ofMillis(2_000));
        assertThat(NatsEventPlane.reconnectDelay(1_000_000)).isEqualTo(Duration.ofMillis(2_000));
        assertThat(NatsEventPlane.reconnectDelay(0)).isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void connectingWhereNoServerListensFailsQuickly() {
        int dead = ServerProcess.freePort();
        long start = System.nanoTime();
        assertThatThrownBy(() -> NatsEventPlane.connect(URI.create("nats://127.0.0.1:" + dead)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("127.0.0.1:" + dead);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(10_000);
    }

    @Test
    void workersAndARouterOnSeparateConnectionsExchangeEventsByWildcard() throws Exception {
        try (NatsEventPlane worker1 = NatsEventPlane.connect(nats.uri());
                NatsEventPlane worker2 = NatsEventPlane.connect(nats.uri());
                NatsEventPlane router = NatsEventPlane.connect(nats.uri())) {
            Inbox kv = new Inbox();
            Inbox load = new Inbox();
            router.subscribe(Subjects.allKvEvents("default"), kv::accept);
            router.subscribe(Subjects.allLoad("default"), load::accept);
            int n = 2_000;
            for (int i = 0; i < n; i++) {
                worker1.publish(Subjects.kvEvents("default", "w1"), bytes("w1:" + i));
                worker2.publish(Subjects.kvEvents("default", "w2"), bytes("w2:" + i));
                worker2.publish(Subjects.kvEvents("other", "w2"), bytes("other namespace"));
            }
            worker1.publish(Subjects.load("default", "w1"), bytes("load"));
            // Per publisher, in order; the two publishers interleave freely.
            int next1 = 0;
            int next2 = 0;
            for (int i = 0; i < 2 * n; i++) {
                EventMessage m = kv.next();
                if (m.subject().equals("tandem.v1.kv.default.w1")) {
                    assertThat(text(m)).isEqualTo("w1:" + next1++);
                } else {
                    assertThat(m.subject()).isEqualTo("tandem.v1.kv.default.w2");
                    assertThat(text(m)).isEqualTo("w2:" + next2++);
                }
            }
            EventMessage l = load.next();
            assertThat(l.subject()).isEqualTo("tandem.v1.load.default.w1");
            assertThat(worker1.dropped() + worker2.dropped()).isZero();
            Thread.sleep(100);
            assertThat(kv.queue).isEmpty();
        }
    }

    @Test
    void closingAPublisherFlushesWhatItPublished() throws Exception {
        try (NatsEventPlane receiver = NatsEventPlane.connect(nats.uri())) {
            Inbox inbox = new Inbox();
            receiver.subscribe("flush.*", inbox::accept);
            NatsEventPlane sender = NatsEventPlane.connect(nats.uri());
            for (int i = 0; i < 10_000; i++) {
                sender.publish("flush.x", bytes(Integer.toString(i)));
            }
            sender.close();
            for (int i = 0; i < 10_000; i++) {
                assertThat(text(inbox.next())).isEqualTo(Integer.toString(i));
            }
            assertThatThrownBy(() -> sender.publish("flush.x", bytes("late")))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void closingThePlaneEndsItsSubscriptions() throws Exception {
        EventPlane other = NatsEventPlane.connect(nats.uri());
        Inbox inbox = new Inbox();
        other.subscribe(">", inbox::accept);
        other.close();
        plane.publish("after.close", bytes("x"));
        Thread.sleep(200);
        assertThat(inbox.queue).isEmpty();
        other.close(); // idempotent
    }
}
