package dev.tandem.discovery.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchEvent;
import dev.tandem.discovery.contract.DiscoveryContract.Events;
import dev.tandem.discovery.testing.EtcdServer;
import dev.tandem.discovery.testing.TcpProxy;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.CompactOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * etcd going away under open watches and leases: a restart on the same data directory, and a partition long enough
 * for the watched revision to be compacted. Each test has its own etcd.
 */
class EtcdFailureTest {

    private EtcdServer etcd;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void startEtcd() {
        etcd = EtcdServer.launch();
    }

    @AfterEach
    void stop() throws Exception {
        try {
            for (AutoCloseable c : toClose.reversed()) {
                c.close();
            }
        } finally {
            if (etcd != null) {
                etcd.close();
            }
        }
    }

    private EtcdDiscovery open(int port) {
        EtcdDiscovery d = new EtcdDiscovery(List.of("http://127.0.0.1:" + port), Duration.ofSeconds(10));
        toClose.add(d);
        return d;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void aWatchResumesAfterAnEtcdRestartWithoutGapsAndALeaseSurvivesAShortRestart() throws Exception {
        Duration ttl = Duration.ofSeconds(5);
        EtcdDiscovery worker = open(etcd.clientPort());
        EtcdDiscovery frontend = open(etcd.clientPort());
        Lease lease = worker.grantLease(ttl);
        worker.put("svc/worker", bytes("w"), lease);
        worker.put("svc/a", bytes("a"), null);

        Events events = new Events();
        Watch watch = frontend.watch("svc/", events::accept);
        assertThat(events.nextPut().key()).isEqualTo("svc/a");
        assertThat(events.nextPut().key()).isEqualTo("svc/worker");
        worker.put("svc/before", bytes("1"), null);
        KeyValue before = events.nextPut();
        assertThat(before.key()).isEqualTo("svc/before");

        long down = System.nanoTime();
        etcd.restart(); // SIGKILL, then the same ports and data directory
        long restartMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - down);
        assertThat(restartMs).as("the restart is shorter than the lease's TTL").isLessThan(ttl.toMillis() - 1_000);

        // Changes right after the restart, from a fresh client: the watch may not have reconnected yet, and must
        // still see each of them, in order, once.
        try (EtcdDiscovery writer = new EtcdDiscovery(List.of(etcd.endpoint()), Duration.ofSeconds(10))) {
            writer.put("svc/b", bytes("b"), null);
            writer.delete("svc/a");
            writer.put("svc/c", bytes("c"), null);
            writer.put("svc/b", bytes("b2"), null);
        }
        List<String> seen = new ArrayList<>();
        long last = before.revision();
        for (int i = 0; i < 4; i++) {
            WatchEvent e = events.next();
            assertThat(e.revision()).as("revisions after the restart increase").isGreaterThan(last);
            last = e.revision();
            seen.add(
                    switch (e) {
                        case WatchEvent.Put p -> "put " + p.kv().key() + "=" + text(p.kv().value());
                        case WatchEvent.Delete del -> "delete " + del.key();
                    });
        }
        assertThat(seen).containsExactly("put svc/b=b", "delete svc/a", "put svc/c=c", "put svc/b=b2");

        // The lease was kept alive across the restart: its key is still there a whole TTL later.
        Thread.sleep(ttl.toMillis() + 1_000);
        assertThat(lease.isAlive()).isTrue();
        assertThat(frontend.list("svc/worker")).hasSize(1);
        worker.put("svc/after", bytes("x"), lease);
        assertThat(events.nextPut().key()).isEqualTo("svc/after");
        assertThat(events.queue).isEmpty();
        watch.close();
    }

    @Test
    void aWatchWhoseRevisionWasCompactedListsAgainAndReportsWhatVanished() throws Exception {
        TcpProxy proxy = new TcpProxy(etcd.clientPort());
        toClose.add(proxy);
        EtcdDiscovery watcher = open(proxy.port());
        EtcdDiscovery writer = open(etcd.clientPort());
        writer.put("c/1", bytes("1"), null);
        writer.put("c/2", bytes("2"), null);
        writer.put("c/3", bytes("3"), null);
        Events events = new Events();
        watcher.watch("c/", events::accept);
        for (String k : List.of("c/1", "c/2", "c/3")) {
            assertThat(events.nextPut().key()).isEqualTo(k);
        }
        writer.put("c/0", bytes("0"), null);
        assertThat(events.nextPut().key()).isEqualTo("c/0");

        proxy.cut(); // the watcher is partitioned from etcd; everyone else is not
        writer.delete("c/1");
        writer.put("c/2", bytes("2b"), null);
        writer.put("c/4", bytes("4"), null);
        writer.put("c/5", bytes("5"), null);
        writer.delete("c/5"); // created and deleted while away: never seen
        writer.delete("c/0");
        writer.put("other/x", bytes("x"), null);
        long now = writer.list("other/x").getFirst().revision();
        try (Client raw = Client.builder().endpoints(etcd.endpoint()).build()) {
            raw.getKVClient()
                    .compact(
                            now,
                            CompactOption.builder().withCompactPhysical(true).build())
                    .get(10, TimeUnit.SECONDS);
        }
        Thread.sleep(300);
        assertThat(events.queue).as("nothing arrives while partitioned").isEmpty();
        proxy.restore();

        // The re-list: Deletes for the keys that vanished, then Puts for the new or changed ones; c/3 is unchanged.
        TreeMap<String, String> view = new TreeMap<>();
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            WatchEvent e = events.next();
            switch (e) {
                case WatchEvent.Put p -> {
                    seen.add("put " + p.kv().key());
                    view.put(p.kv().key(), text(p.kv().value()));
                }
                case WatchEvent.Delete del -> {
                    seen.add("delete " + del.key());
                    assertThat(del.revision()).isGreaterThanOrEqualTo(now);
                }
            }
        }
        assertThat(seen).containsExactly("delete c/0", "delete c/1", "put c/2", "put c/4");
        assertThat(view).containsEntry("c/2", "2b").containsEntry("c/4", "4");

        // And the watch goes on from the listing's revision.
        writer.put("c/6", bytes("6"), null);
        KeyValue six = events.nextPut();
        assertThat(six.key()).isEqualTo("c/6");
        assertThat(six.revision()).isGreaterThan(now);
        Thread.sleep(200);
        assertThat(events.queue).isEmpty();
    }

    @Test
    void callsMadeWhileEtcdIsDownSucceedOnceItIsBack() throws Exception {
        EtcdDiscovery d = open(etcd.clientPort());
        d.put("k", bytes("v1"), null);
        etcd.kill();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                d.put("k", bytes("v2"), null); // waits for etcd (up to the 10 s operation timeout)
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        Thread.sleep(500);
        etcd.start();
        writer.join(15_000);
        assertThat(writer.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("v2");
    }
}
