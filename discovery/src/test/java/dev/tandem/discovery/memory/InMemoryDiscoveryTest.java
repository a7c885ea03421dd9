package dev.tandem.discovery.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchEvent;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InMemoryDiscoveryTest {

    private static final Duration TTL = Duration.ofSeconds(10);

    private final InMemoryDiscovery d = new InMemoryDiscovery();

    @AfterEach
    void close() {
        d.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private List<String> keys(String prefix) {
        return d.list(prefix).stream().map(KeyValue::key).toList();
    }

    /** A watch's events, collected without blocking the delivery thread. */
    private static final class Events {
        final LinkedBlockingQueue<WatchEvent> queue = new LinkedBlockingQueue<>();

        void accept(WatchEvent e) {
            queue.add(e);
        }

        WatchEvent next() throws InterruptedException {
            WatchEvent e = queue.poll(30, TimeUnit.SECONDS);
            assertThat(e).as("a watch event within 30 s").isNotNull();
            return e;
        }

        KeyValue nextPut() throws InterruptedException {
            WatchEvent e = next();
            assertThat(e).isInstanceOf(WatchEvent.Put.class);
            return ((WatchEvent.Put) e).kv();
        }

        WatchEvent.Delete nextDelete() throws InterruptedException {
            WatchEvent e = next();
            assertThat(e).isInstanceOf(WatchEvent.Delete.class);
            return (WatchEvent.Delete) e;
        }
    }

    @Test
    void listReturnsTheKeysUnderAPrefixInKeyOrder() {
        d.put("a/2", bytes("two"), null);
        d.put("a/1", bytes("one"), null);
        d.put("b/1", bytes("other"), null);
        d.put("a/10", bytes("ten"), null);
        d.put("a", bytes("not under a/"), null);
        List<KeyValue> under = d.list("a/");
        assertThat(under).extracting(KeyValue::key).containsExactly("a/1", "a/10", "a/2");
        assertThat(text(under.getFirst().value())).isEqualTo("one");
        assertThat(keys("")).containsExactly("a", "a/1", "a/10", "a/2", "b/1");
        assertThat(keys("c/")).isEmpty();
    }

    @Test
    void everyWriteGetsAHigherRevision() {
        d.put("k1", bytes("a"), null);
        long r1 = d.list("k1").getFirst().revision();
        d.put("k2", bytes("b"), null);
        long r2 = d.list("k2").getFirst().revision();
        d.put("k1", bytes("c"), null);
        KeyValue k1 = d.list("k1").getFirst();
        assertThat(r2).isGreaterThan(r1);
        assertThat(k1.revision()).isGreaterThan(r2);
        assertThat(text(k1.value())).isEqualTo("c");
    }

    @Test
    void storedValuesAreCopiesInAndOut() {
        byte[] v = bytes("value");
        d.put("k", v, null);
        v[0] = 'X';
        byte[] out = d.list("k").getFirst().value();
        assertThat(text(out)).isEqualTo("value");
        out[0] = 'Y';
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("value");
    }

    @Test
    void putIfAbsentWritesOnlyAMissingKey() {
        assertThat(d.putIfAbsent("k", bytes("first"), null)).isTrue();
        assertThat(d.putIfAbsent("k", bytes("second"), null)).isFalse();
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("first");
        d.delete("k");
        assertThat(d.putIfAbsent("k", bytes("third"), null)).isTrue();
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("third");
    }

    @Test
    void putIfAbsentIsAtomicUnderContention() throws Exception {
        AtomicInteger winners = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                if (d.putIfAbsent("leader", bytes("t" + id), null)) {
                    winners.incrementAndGet();
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(winners.get()).isEqualTo(1);
    }

    @Test
    void deleteRemovesAKeyAndIgnoresMissingOnes() {
        d.put("k", bytes("v"), null);
        d.delete("k");
        d.delete("never-there");
        assertThat(d.list("")).isEmpty();
    }

    @Test
    void revokingALeaseDeletesItsKeysOnly() {
        Lease lease = d.grantLease(TTL);
        Lease other = d.grantLease(TTL);
        assertThat(lease.id()).isNotEqualTo(other.id());
        d.put("w/1", bytes("a"), lease);
        d.putIfAbsent("w/2", bytes("b"), lease);
        d.put("w/3", bytes("c"), other);
        d.put("w/4", bytes("d"), null);
        assertThat(lease.isAlive()).isTrue();

        lease.revoke();
        assertThat(lease.isAlive()).isFalse();
        assertThat(other.isAlive()).isTrue();
        assertThat(keys("w/")).containsExactly("w/3", "w/4");
        lease.revoke(); // idempotent
        assertThat(keys("w/")).containsExactly("w/3", "w/4");
    }

    @Test
    void writingUnderARevokedLeaseFails() {
        Lease lease = d.grantLease(TTL);
        lease.revoke();
        assertThatThrownBy(() -> d.put("k", bytes("v"), lease)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> d.putIfAbsent("k", bytes("v"), lease)).isInstanceOf(IllegalStateException.class);
        assertThat(d.list("")).isEmpty();
    }

    @Test
    void aKeyRewrittenWithoutALeaseOutlivesItsOldLease() {
        Lease lease = d.grantLease(TTL);
        d.put("k", bytes("leased"), lease);
        d.put("k", bytes("permanent"), null);
        lease.revoke();
        assertThat(keys("k")).containsExactly("k");
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("permanent");
    }

    @Test
    void aKeyMovedToAnotherLeaseFollowsTheNewLease() {
        Lease first = d.grantLease(TTL);
        Lease second = d.grantLease(TTL);
        d.put("k", bytes("1"), first);
        d.put("k", bytes("2"), second);
        first.revoke();
        assertThat(keys("k")).as("the key now belongs to the second lease").containsExactly("k");
        second.revoke();
        assertThat(keys("k")).isEmpty();
    }

    @Test
    void aDeletedAndRecreatedKeyIsNotRemovedByTheOldLease() {
        Lease lease = d.grantLease(TTL);
        d.put("k", bytes("leased"), lease);
        d.delete("k");
        d.put("k", bytes("someone else's"), null);
        lease.revoke();
        assertThat(keys("k")).containsExactly("k");
    }

    @Test
    void aWatchFirstSeesTheExistingKeysThenEveryChange() throws Exception {
        Lease lease = d.grantLease(TTL);
        d.put("p/b", bytes("b"), null);
        d.put("p/a", bytes("a"), null);
        d.put("q/x", bytes("x"), null);
        d.put("p/c", bytes("c"), lease);
        Events events = new Events();
        try (Watch w = d.watch("p/", events::accept)) {
            assertThat(w).isNotNull();
            // The snapshot, in key order, with the revisions the keys were written at.
            KeyValue a = events.nextPut();
            assertThat(a.key()).isEqualTo("p/a");
            assertThat(text(a.value())).isEqualTo("a");
            assertThat(a.revision()).isEqualTo(d.list("p/a").getFirst().revision());
            assertThat(events.nextPut().key()).isEqualTo("p/b");
            KeyValue c = events.nextPut();
            assertThat(c.key()).isEqualTo("p/c");
            long snapshotRevision = c.revision();

            d.put("q/y", bytes("not watched"), null);
            d.put("p/d", bytes("d"), null);
            d.put("p/a", bytes("a2"), null);
            d.delete("p/b");
            d.delete("p/missing");
            lease.revoke();
            d.putIfAbsent("p/e", bytes("e"), null);

            KeyValue pd = events.nextPut();
            assertThat(pd.key()).isEqualTo("p/d");
            assertThat(pd.revision()).isGreaterThan(snapshotRevision);
            KeyValue a2 = events.nextPut();
            assertThat(a2.key()).isEqualTo("p/a");
            assertThat(text(a2.value())).isEqualTo("a2");
            assertThat(a2.revision()).isGreaterThan(pd.revision());
            WatchEvent.Delete db = events.nextDelete();
            assertThat(db.key()).isEqualTo("p/b");
            assertThat(db.revision()).isGreaterThan(a2.revision());
            WatchEvent.Delete dc = events.nextDelete();
            assertThat(dc.key()).as("revoking the lease deletes its key").isEqualTo("p/c");
            assertThat(dc.revision()).isGreaterThan(db.revision());
            KeyValue e = events.nextPut();
            assertThat(e.key()).isEqualTo("p/e");
            assertThat(e.revision()).isGreaterThan(dc.revision());
            assertThat(events.queue).isEmpty();
        }
    }

    @Test
    void aWatchRegisteredDuringWritesMissesNothing() throws Exception {
        int writers = 4;
        int perWriter = 500;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < writers; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perWriter; i++) {
                    String key = "load/" + id + "/" + (i % 50);
                    if (i % 7 == 3) {
                        d.delete(key);
                    } else {
                        d.put(key, bytes(id + ":" + i), null);
                    }
                }
            }));
        }
        Map<String, String> view = new HashMap<>();
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        try (Watch w = d.watch("load/", events::add)) {
            for (Thread t : threads) {
                t.join();
            }
            d.put("load/zz-end", bytes("end"), null);
            long lastChangeRevision = 0;
            boolean snapshot = true;
            while (true) {
                WatchEvent e = events.poll(30, TimeUnit.SECONDS);
                assertThat(e).as("watch event").isNotNull();
                switch (e) {
                    case WatchEvent.Put p -> view.put(p.kv().key(), text(p.kv().value()));
                    case WatchEvent.Delete del -> view.remove(del.key());
                }
                if (e instanceof WatchEvent.Delete) {
                    snapshot = false;
                }
                if (!snapshot) {
                    assertThat(e.revision()).as("changes in revision order").isGreaterThan(lastChangeRevision);
                    lastChangeRevision = e.revision();
                }
                if (e instanceof WatchEvent.Put p && p.kv().key().equals("load/zz-end")) {
                    break;
                }
            }
        }
        Map<String, String> truth = new HashMap<>();
        for (KeyValue kv : d.list("load/")) {
            truth.put(kv.key(), text(kv.value()));
        }
        assertThat(view).isEqualTo(truth);
    }

    @Test
    void closingAWatchStopsItsDeliveries() throws Exception {
        Events closed = new Events();
        Events open = new Events();
        Watch w = d.watch("k/", closed::accept);
        d.watch("k/", open::accept);
        d.put("k/1", bytes("1"), null);
        assertThat(closed.nextPut().key()).isEqualTo("k/1");
        w.close();
        d.put("k/2", bytes("2"), null);
        assertThat(open.nextPut().key()).isEqualTo("k/1");
        assertThat(open.nextPut().key()).isEqualTo("k/2");
        assertThat(closed.queue).isEmpty();
    }

    @Test
    void aFailingWatchListenerStillGetsLaterEvents() throws Exception {
        Events events = new Events();
        d.watch("f/", e -> {
            events.accept(e);
            throw new IllegalStateException("listener failure");
        });
        d.put("f/1", bytes("1"), null);
        d.put("f/2", bytes("2"), null);
        assertThat(events.nextPut().key()).isEqualTo("f/1");
        assertThat(events.nextPut().key()).isEqualTo("f/2");
    }

    @Test
    void theMemorySchemeOpensAFreshDiscovery() throws Exception {
        try (Discovery a = DiscoveryProvider.open(URI.create("memory:local"));
                Discovery b = DiscoveryProvider.open(URI.create("memory:local"))) {
            assertThat(a).isInstanceOf(InMemoryDiscovery.class);
            a.put("k", bytes("v"), null);
            assertThat(a.list("")).hasSize(1);
            assertThat(b.list("")).isEmpty();
        }
        assertThatThrownBy(() -> DiscoveryProvider.open(URI.create("zookeeper://x")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
