package dev.tandem.discovery.etcd;

import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchEvent;
import dev.tandem.api.discovery.WatchListener;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One watch on a prefix, driven by one thread that owns all its state and makes every listener call.
 *
 * <p>It delivers the snapshot (a {@link WatchEvent.Put} per key, in key order, read at revision R), then opens a
 * jetcd watcher from R+1 and delivers each event. Every failure of the watcher (the stream broke, etcd restarted, the
 * server cancelled it) closes that watcher and opens a new one from the last delivered revision + 1, after a backoff
 * (100 ms doubling to 2 s, reset by the next answer), so that no change is lost or repeated. When that revision has
 * been compacted away (or lies in the future: etcd came back with less history), the watch lists the prefix again and
 * delivers the difference from what it had delivered: a Put for each new or changed key, a Delete (at the listing's
 * revision) for each key that vanished.
 *
 * <p>jetcd's watchers retry by themselves too; each watcher this class opens is an "attempt" whose callbacks are
 * ignored once the attempt is replaced, so that only this class decides where a watch resumes.
 */
final class EtcdWatch implements Watch {

    private static final System.Logger LOG = System.getLogger(EtcdWatch.class.getName());

    static final long MIN_BACKOFF_MS = 100;
    static final long MAX_BACKOFF_MS = 2_000;

    private sealed interface Signal {}

    private record Answer(Attempt attempt, WatchResponse response) implements Signal {}

    private record Failed(Attempt attempt, Throwable error) implements Signal {}

    private record Ended(Attempt attempt) implements Signal {}

    private record Wake() implements Signal {}

    /** One jetcd watcher, from one start revision. */
    private static final class Attempt {
        final long startRevision;
        final AtomicBoolean closed = new AtomicBoolean();
        volatile io.etcd.jetcd.Watch.Watcher watcher;

        Attempt(long startRevision) {
            this.startRevision = startRevision;
        }

        void close() {
            if (closed.compareAndSet(false, true)) {
                io.etcd.jetcd.Watch.Watcher w = watcher;
                if (w != null) {
                    try {
                        w.close();
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.DEBUG, "closing a jetcd watcher failed", e);
                    }
                }
            }
        }
    }

    private final EtcdDiscovery discovery;
    private final String prefix;
    private final WatchListener listener;
    private final LinkedBlockingQueue<Signal> signals = new LinkedBlockingQueue<>();
    /** Held while the listener runs, so that {@link #close()} returns only once no call is in progress. */
    private final ReentrantLock delivering = new ReentrantLock();

    private final Thread thread;
    private volatile boolean closed;

    // State of the watch thread only.
    /** What the listener has been told: key to the revision of its last Put. */
    private final TreeMap<String, Long> known = new TreeMap<>();
    /** Every change up to this revision has been delivered. */
    private long revision;

    private GetResponse snapshot;
    private Attempt attempt;

    EtcdWatch(EtcdDiscovery discovery, String prefix, WatchListener listener, GetResponse snapshot) {
        this.discovery = discovery;
        this.prefix = prefix;
        this.listener = listener;
        this.snapshot = snapshot;
        this.thread = Thread.ofVirtual().name("etcd-watch-" + prefix).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    // ---------------------------------------------------------------------------------------------------------------

    private void run() {
        try {
            for (KeyValue kv : EtcdDiscovery.toKeyValues(snapshot)) {
                known.put(kv.key(), kv.revision());
                deliver(new WatchEvent.Put(kv));
            }
            revision = snapshot.getHeader().getRevision();
            snapshot = null;
            loop();
        } catch (InterruptedException e) {
            // closed
        } catch (RuntimeException | Error e) {
            if (closed) {
                return; // the client closed under a call in progress
            }
            LOG.log(System.Logger.Level.ERROR, "etcd watch on '" + prefix + "' stopped by an unexpected failure", e);
        } finally {
            if (attempt != null) {
                attempt.close();
            }
        }
    }

    private void loop() throws InterruptedException {
        long backoff = MIN_BACKOFF_MS;
        boolean relist = false;
        while (!closed) {
            if (attempt == null) {
                if (relist) {
                    try {
                        relist();
                        relist = false;
                    } catch (IOException | RuntimeException e) {
                        LOG.log(
                                System.Logger.Level.DEBUG,
                                "etcd watch on ''{0}'': re-listing failed, retrying: {1}",
                                prefix,
                                e.getMessage());
                        pause(backoff);
                        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
                        continue;
                    }
                }
                attempt = open(revision + 1);
            }
            Signal s = signals.take();
            switch (s) {
                case Wake w -> {}
                case Answer a
                when a.attempt() == attempt -> {
                    backoff = MIN_BACKOFF_MS;
                    apply(a.response());
                }
                case Failed f
                when f.attempt() == attempt -> {
                    attempt.close();
                    attempt = null;
                    if (needsRelist(f.error())) {
                        LOG.log(
                                System.Logger.Level.INFO,
                                "etcd watch on ''{0}'': revision {1} is no longer available ({2}); re-listing",
                                prefix,
                                revision + 1,
                                f.error().getMessage());
                        relist = true;
                    } else {
                        LOG.log(
                                System.Logger.Level.DEBUG,
                                "etcd watch on ''{0}'' failed, resuming from revision {1} in {2} ms: {3}",
                                prefix,
                                revision + 1,
                                backoff,
                                f.error().getMessage());
                        pause(backoff);
                        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
                    }
                }
                case Ended e
                when e.attempt() == attempt -> {
                    attempt.close();
                    attempt = null;
                    pause(backoff);
                    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
                }
                default -> {} // from a replaced attempt
            }
        }
    }

    private Attempt open(long startRevision) {
        Attempt a = new Attempt(startRevision);
        WatchOption option = WatchOption.builder()
                .withRange(EtcdDiscovery.rangeEnd(prefix))
                .withRevision(startRevision)
                .withCreateNotify(true)
                .build();
        a.watcher = discovery
                .watchClient()
                .watch(
                        EtcdDiscovery.rangeStart(prefix),
                        option,
                        io.etcd.jetcd.Watch.listener(
                                r -> signals.add(new Answer(a, r)),
                                t -> signals.add(new Failed(a, t)),
                                () -> signals.add(new Ended(a))));
        return a;
    }

    private void apply(WatchResponse r) {
        long floor = revision;
        for (io.etcd.jetcd.watch.WatchEvent e : r.getEvents()) {
            io.etcd.jetcd.KeyValue kv = e.getKeyValue();
            long rev = kv.getModRevision();
            if (rev <= floor) {
                continue; // already delivered (a watcher never sends these; a guard against repeats)
            }
            String key = EtcdDiscovery.text(kv.getKey());
            switch (e.getEventType()) {
                case PUT -> {
                    known.put(key, rev);
                    deliver(new WatchEvent.Put(EtcdDiscovery.toKeyValue(kv)));
                }
                case DELETE -> {
                    known.remove(key);
                    deliver(new WatchEvent.Delete(key, rev));
                }
                default -> LOG.log(System.Logger.Level.WARNING, "unknown etcd event type {0}", e.getEventType());
            }
            revision = Math.max(revision, rev);
        }
    }

    /** Lists the prefix again and delivers the difference from what was delivered. */
    private void relist() throws IOException {
        GetResponse r = discovery.get(prefix);
        long now = r.getHeader().getRevision();
        Map<String, KeyValue> current = new TreeMap<>();
        for (KeyValue kv : EtcdDiscovery.toKeyValues(r)) {
            current.put(kv.key(), kv);
        }
        List<String> vanished = new ArrayList<>();
        for (String key : known.keySet()) {
            if (!current.containsKey(key)) {
                vanished.add(key);
            }
        }
        for (String key : vanished) {
            known.remove(key);
            deliver(new WatchEvent.Delete(key, now));
        }
        for (KeyValue kv : current.values()) {
            Long before = known.put(kv.key(), kv.revision());
            if (before == null || before != kv.revision()) {
                deliver(new WatchEvent.Put(kv));
            }
        }
        revision = now;
    }

    private static boolean needsRelist(Throwable error) {
        return error instanceof CompactedException
                || (error instanceof EtcdException ee && ee.getErrorCode() == ErrorCode.OUT_OF_RANGE);
    }

    /** Waits {@code ms}, or less if the watch is closed meanwhile; signals of replaced attempts are dropped. */
    private void pause(long ms) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!closed) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            signals.poll(left, TimeUnit.NANOSECONDS);
        }
    }

    private void deliver(WatchEvent event) {
        delivering.lock();
        try {
            if (closed) {
                return;
            }
            listener.onEvent(event);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "watch listener failed; continuing", e);
        } finally {
            delivering.unlock();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Wait for a listener call in progress (unless this is that call).
        delivering.lock();
        delivering.unlock();
        signals.add(new Wake());
        if (Thread.currentThread() != thread) {
            thread.interrupt();
        }
        discovery.removed(this);
    }
}
