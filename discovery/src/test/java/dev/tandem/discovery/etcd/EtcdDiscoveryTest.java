package dev.tandem.discovery.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.WatchEvent;
import dev.tandem.discovery.contract.DiscoveryContract;
import dev.tandem.discovery.testing.EtcdServer;
import dev.tandem.discovery.testing.ServerProcess;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.DeleteOption;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The discovery contract on a real etcd (one server for the class, emptied before each test), and what is particular
 * to etcd: leases that run out when their keep-alives stop, URIs, an unreachable etcd.
 */
class EtcdDiscoveryTest extends DiscoveryContract {

    private static final ByteSequence ALL = ByteSequence.from(new byte[] {0});

    private static EtcdServer etcd;
    /** A plain jetcd client beside the code under test: to empty the store and act behind its back. */
    private static Client raw;

    /**
     * Starts etcd for the class on first use: from each test (through {@link #newDiscovery()}) rather than from a
     * {@code @BeforeAll}, so that a missing etcd reports every test as skipped, with the reason.
     */
    private static void ensureEtcd() {
        if (etcd == null) {
            etcd = EtcdServer.launch();
            raw = Client.builder().endpoints(etcd.endpoint()).build();
        }
    }

    @AfterAll
    static void stopEtcd() {
        if (raw != null) {
            raw.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        raw = null;
        etcd = null;
    }

    @Override
    protected Discovery newDiscovery() throws Exception {
        ensureEtcd();
        raw.getKVClient()
                .delete(ALL, DeleteOption.builder().withRange(ALL).build())
                .get(10, TimeUnit.SECONDS);
        return open();
    }

    private static EtcdDiscovery open() {
        return new EtcdDiscovery(List.of(etcd.endpoint()), Duration.ofSeconds(10));
    }

    @Test
    void theEtcdSchemeOpensAnEtcdDiscoveryOnAnyOfItsEndpoints() throws Exception {
        int dead = ServerProcess.freePort();
        URI uri = URI.create("etcd://127.0.0.1:" + dead + ",127.0.0.1:" + etcd.clientPort());
        try (Discovery other = DiscoveryProvider.open(uri)) {
            assertThat(other).isInstanceOf(EtcdDiscovery.class);
            other.put("shared", bytes("v"), null);
            assertThat(keys("shared")).containsExactly("shared");
        }
    }

    @Test
    void etcdUrisNameOneOrMoreEndpoints() {
        assertThat(EtcdDiscovery.endpoints(URI.create("etcd://10.0.0.1:2379"))).containsExactly("http://10.0.0.1:2379");
        assertThat(EtcdDiscovery.endpoints(URI.create("etcd://a:1,b:2,c")))
                .containsExactly("http://a:1", "http://b:2", "http://c:2379");
        assertThatThrownBy(() -> EtcdDiscovery.endpoints(URI.create("http://a:1")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EtcdDiscovery.endpoints(URI.create("etcd:local")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EtcdDiscovery.endpoints(URI.create("etcd://a:1,,b:2")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keysOfALeaseOutliveItsTtlWhileKeptAliveAndVanishWhenTheKeepAlivesStop() throws Exception {
        Events events = new Events();
        d.watch("workers/", events::accept);
        EtcdDiscovery worker = open();
        Lease lease = worker.grantLease(Duration.ofSeconds(2));
        worker.put("workers/w1", bytes("w1"), lease);
        assertThat(events.nextPut().key()).isEqualTo("workers/w1");

        Thread.sleep(3_500); // well past the TTL: only keep-alives keep the key
        assertThat(lease.isAlive()).isTrue();
        assertThat(keys("workers/")).containsExactly("workers/w1");

        long closedAt = System.nanoTime();
        worker.close(); // as a crash would: no revoke, no more keep-alives
        WatchEvent.Delete gone = events.nextDelete();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closedAt);
        assertThat(gone.key()).isEqualTo("workers/w1");
        assertThat(tookMs)
                .as("the key vanishes within its TTL (plus etcd's expiry check)")
                .isLessThan(5_000);
        assertThat(keys("workers/")).isEmpty();
    }

    @Test
    void aLeaseRevokedBehindItsBackIsNoLongerAlive() throws Exception {
        Lease lease = d.grantLease(Duration.ofSeconds(3));
        d.put("k", bytes("v"), lease);
        raw.getLeaseClient().revoke(lease.id()).get(10, TimeUnit.SECONDS);
        // Whether etcd or the lease's last keep-alive answer says so first, writing under it fails the same way.
        assertThatThrownBy(() -> d.put("k2", bytes("v"), lease)).isInstanceOf(IllegalStateException.class);
        // The next keep-alive (a third of the TTL after the last one) learns that the lease is gone.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (lease.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(lease.isAlive()).isFalse();
        assertThat(d.list("")).isEmpty();
        assertThatThrownBy(() -> d.put("k", bytes("v"), lease)).isInstanceOf(IllegalStateException.class);
        lease.revoke(); // harmless
    }

    @Test
    void revokingDeletesTheKeysAtOnceForEveryWatcher() throws Exception {
        Events events = new Events();
        d.watch("r/", events::accept);
        EtcdDiscovery worker = open();
        try {
            Lease lease = worker.grantLease(Duration.ofSeconds(30));
            worker.put("r/a", bytes("a"), lease);
            worker.put("r/b", bytes("b"), lease);
            assertThat(events.nextPut().key()).isEqualTo("r/a");
            assertThat(events.nextPut().key()).isEqualTo("r/b");
            lease.revoke();
            WatchEvent.Delete a = events.nextDelete();
            WatchEvent.Delete b = events.nextDelete();
            assertThat(List.of(a.key(), b.key())).containsExactlyInAnyOrder("r/a", "r/b");
            assertThat(a.revision()).as("one revocation, one revision").isEqualTo(b.revision());
        } finally {
            worker.close();
        }
    }

    @Test
    void closingTheDiscoveryEndsItsWatchesAndRejectsCalls() throws Exception {
        EtcdDiscovery other = open();
        Events events = new Events();
        other.watch("x/", events::accept);
        other.close();
        d.put("x/1", bytes("1"), null);
        Thread.sleep(300);
        assertThat(events.queue).isEmpty();
        assertThatThrownBy(() -> other.list("")).isInstanceOf(IllegalStateException.class);
        other.close(); // idempotent
    }

    @Test
    void callsFailWithAnIoExceptionWhenEtcdIsUnreachable() {
        int dead = ServerProcess.freePort();
        try (EtcdDiscovery nowhere = new EtcdDiscovery(List.of("http://127.0.0.1:" + dead), Duration.ofMillis(500))) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> nowhere.list("")).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> nowhere.put("k", bytes("v"), null)).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> nowhere.grantLease(Duration.ofSeconds(5))).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> nowhere.watch("", e -> {})).isInstanceOf(IOException.class);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(10_000);
        }
    }

    @Test
    void largeValuesAndManyKeysRoundTrip() throws Exception {
        byte[] big = new byte[512 * 1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        d.put("big", big, null);
        assertThat(d.list("big").getFirst().value()).isEqualTo(big);
        for (int i = 0; i < 300; i++) {
            d.put(String.format("many/%04d", i), bytes(Integer.toString(i)), null);
        }
        List<KeyValue> many = d.list("many/");
        assertThat(many).hasSize(300);
        assertThat(many.get(299).key()).isEqualTo("many/0299");
    }
}
