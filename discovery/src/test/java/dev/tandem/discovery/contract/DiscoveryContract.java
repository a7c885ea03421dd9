package dev.tandem.discovery.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link Discovery} contract, run against every implementation: each subclass supplies a fresh, empty
 * discovery per test.
 */
public abstract class DiscoveryContract {

    protected static final Duration TTL = Duration.ofSeconds(10);

    protected Discovery d;

    /** A discovery with no keys; closed after the test. */
    protected abstract Discovery newDiscovery() throws Exception;

    /** Writers × writes per writer in {@link #aWatchRegisteredDuringWritesMissesNothing()}. */
    protected int writesPerWriter() {
        return 500;
    }

    @BeforeEach
    void openDiscovery() throws Exception {
        d = newDiscovery();
    }

    @AfterEach
    void closeDiscovery() {
        if (d != null) {
            d.close();
        }
    }

    protected static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    protected static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    protected List<String> keys(String prefix) throws Exception {
        return d.list(prefix).stream().map(KeyValue::key).toList();
    }

    /** A watch's events, collected without blocking the delivery thread. */
    public static final class Events {
        public final LinkedBlockingQueue<WatchEvent> queue = new LinkedBlockingQueue<>();

        public void accept(WatchEvent e) {
            queue.add(e);
        }

        public WatchEvent next() throws InterruptedException {
            WatchEvent e = queue.poll(30, TimeUnit.SECONDS);
            assertThat(e).as("a watch event within 30 s").isNotNull();
            return e;
        }

        public KeyValue nextPut() throws InterruptedException {
            WatchEvent e = next();
            assertThat(e).isInstanceOf(WatchEvent.Put.class);
            return ((WatchEvent.Put) e).kv();
        }

        public WatchEvent.Delete nextDelete() throws InterruptedException {
            WatchEvent e = next();
            assertThat(e).isInstanceOf(WatchEvent.Delete.class);
            return (WatchEvent.Delete) e;
        }
    }

    @Test
    void listReturnsTheKeysUnderAPrefixInKeyOrder() throws Exception {
        d.put("a/2", bytes("two"), null);
        d.put("a/1", bytes("one"), null);
        d.put("b/1", bytes("other"), null);
        d.put("a/10", bytes("ten"), null);
        d.put("a", bytes("not under a/"), null);
        d.put("a/é", bytes("after every ASCII key"), null);
        d.put("a/Z", bytes("upper case first"), null);
        List<KeyValue> under = d.list("a/");
        assertThat(under).extracting(KeyValue::key).containsExactly("a/1", "a/10", "a/2", "a/Z", "a/é");
        assertThat(text(under.getFirst().value())).isEqualTo("one");
        assertThat(keys("")).containsExactly("a", "a/1", "a/10", "a/2", "a/Z", "a/é", "b/1");
        assertThat(keys("c/")).isEmpty();
    }

    @Test
    void everyWriteGetsAHigherRevision() throws Exception {
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
    void storedValuesAreCopiesInAndOut() throws Exception {
        byte[] v = bytes("value");
        d.put("k", v, null);
        v[0] = 'X';
        byte[] out = d.list("k").getFirst().value();
        assertThat(text(out)).isEqualTo("value");
        out[0] = 'Y';
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("value");
    }

    @Test
    void putIfAbsentWritesOnlyAMissingKey() throws Exception {
        assertThat(d.putIfAbsent("k", bytes("first"), null)).isTrue();
        assertThat(d.putIfAbsent("k", bytes("second"), null)).isFalse();
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("first");
        d.delete("k");
        assertThat(d.putIfAbsent("k", bytes("third"), null)).isTrue();
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("third");
    }

    @Test
    void putIfAbsentIsAtomicUnderContention() throws Exception {
        for (int round = 0; round < 5; round++) {
            String key = "leader/" + round;
            AtomicInteger winners = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        if (d.putIfAbsent(key, bytes("t" + id), null)) {
                            winners.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            assertThat(failures).isEmpty();
            assertThat(winners.get()).as("winners of %s", key).isEqualTo(1);
            assertThat(d.list(key)).hasSize(1);
        }
    }

    @Test
    void deleteRemovesAKeyAndIgnoresMissingOnes() throws Exception {
        d.put("k", bytes("v"), null);
        d.delete("k");
        d.delete("never-there");
        assertThat(d.list("")).isEmpty();
    }

    @Test
    void revokingALeaseDeletesItsKeysOnly() throws Exception {
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
        other.revoke();
        assertThat(keys("w/")).containsExactly("w/4");
    }

    @Test
    void writingUnderARevokedLeaseFails() throws Exception {
        Lease lease = d.grantLease(TTL);
        lease.revoke();
        assertThatThrownBy(() -> d.put("k", bytes("v"), lease)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> d.putIfAbsent("k", bytes("v"), lease)).isInstanceOf(IllegalStateException.class);
        assertThat(d.list("")).isEmpty();
    }

    @Test
    void aKeyRewrittenWithoutALeaseOutlivesItsOldLease() throws Exception {
        Lease lease = d.grantLease(TTL);
        d.put("k", bytes("leased"), lease);
        d.put("k", bytes("permanent"), null);
        lease.revoke();
        assertThat(keys("k")).containsExactly("k");
        assertThat(text(d.list("k").getFirst().value())).isEqualTo("permanent");
    }

    @Test
    void aKeyMovedToAnotherLeaseFollowsTheNewLease() throws Exception {
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
    void aDeletedAndRecreatedKeyIsNotRemovedByTheOldLease() throws Exception {
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
            d.putIfAbsent("p/e", bytes("not written"), null);

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
            assertThat(text(e.value())).isEqualTo("e");
            assertThat(e.revision()).isGreaterThan(dc.revision());
            // A last write as a marker: nothing else may come before it.
            d.put("p/z", bytes("end"), null);
            assertThat(events.nextPut().key()).isEqualTo("p/z");
            assertThat(events.queue).isEmpty();
        }
    }

    @Test
    void aWatchRegisteredDuringWritesMissesNothing() throws Exception {
        int writers = 4;
        int perWriter = writesPerWriter();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < writers; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < perWriter; i++) {
                        String key = "load/" + id + "/" + (i % 50);
                        if (i % 7 == 3) {
                            d.delete(key);
                        } else {
                            d.put(key, bytes(id + ":" + i), null);
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        Map<String, String> view = new HashMap<>();
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        try (Watch w = d.watch("load/", events::add)) {
            for (Thread t : threads) {
                t.join();
            }
            assertThat(failures).isEmpty();
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
        w.close(); // idempotent
    }

    @Test
    void aWatchListenerIsNeverCalledConcurrently() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        d.watch("c/", e -> {
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            Thread.yield();
            inFlight.decrementAndGet();
            if (e instanceof WatchEvent.Put p && p.kv().key().equals("c/end")) {
                done.countDown();
            }
        });
        Thread[] writers = new Thread[3];
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        for (int t = 0; t < writers.length; t++) {
            int id = t;
            writers[t] = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        d.put("c/" + id + "/" + i, bytes("v"), null);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
        }
        for (Thread t : writers) {
            t.join();
        }
        assertThat(failures).isEmpty();
        d.put("c/end", bytes("end"), null);
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(maxInFlight.get()).isEqualTo(1);
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
}
