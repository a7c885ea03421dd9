package dev.tandem.orchestrator.router;

import dev.tandem.api.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The prefix index for engines that publish no KV events: the router assumes a worker holds the prefixes it sent
 * there, for a while. Each routed block is remembered per worker with an expiry ({@code ttl} after its last use);
 * beyond {@code maxBlocksPerWorker} the least recently used are forgotten, as an engine's LRU cache would evict
 * them. Expired entries are pruned lazily, on lookup and on record. Thread-safe.
 */
public final class ApproximateIndex implements PrefixIndex {

    /** Dynamo's approximate-mode default. */
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(120);

    private final Clock clock;
    private final long ttlNanos;
    private final int maxBlocksPerWorker;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, LinkedHashMap<Long, Long>> byWorker = new HashMap<>();

    public ApproximateIndex(Clock clock, Duration ttl, int maxBlocksPerWorker) {
        if (ttl.isNegative() || ttl.isZero() || maxBlocksPerWorker < 1) {
            throw new IllegalArgumentException("the TTL and the size bound must be positive");
        }
        this.clock = clock;
        this.ttlNanos = ttl.toNanos();
        this.maxBlocksPerWorker = maxBlocksPerWorker;
    }

    /** Remembers that {@code workerId} was sent a prompt with these chained block hashes. */
    public void record(String workerId, long[] hashes) {
        lock.lock();
        try {
            // Insertion order, refreshed by re-insertion: the oldest entry is both the least recently used and the
            // first to expire, and lookups (which must not count as use) leave the order alone.
            LinkedHashMap<Long, Long> m = byWorker.computeIfAbsent(workerId, w -> new LinkedHashMap<>(256));
            long expiry = clock.nanos() + ttlNanos;
            for (long h : hashes) {
                m.remove(h);
                m.put(h, expiry);
            }
            prune(m);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Map<String, Integer> overlaps(long[] hashes, Collection<String> candidates) {
        lock.lock();
        try {
            long now = clock.nanos();
            Map<String, Integer> out = new HashMap<>();
            for (String w : candidates) {
                LinkedHashMap<Long, Long> m = byWorker.get(w);
                if (m == null) {
                    continue;
                }
                int n = 0;
                while (n < hashes.length) {
                    Long expiry = m.get(hashes[n]);
                    if (expiry == null || expiry - now <= 0) {
                        break;
                    }
                    n++;
                }
                if (n > 0) {
                    out.put(w, n);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int blockCount(String workerId) {
        lock.lock();
        try {
            LinkedHashMap<Long, Long> m = byWorker.get(workerId);
            if (m == null) {
                return 0;
            }
            prune(m);
            return m.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void removeWorker(String workerId) {
        lock.lock();
        try {
            byWorker.remove(workerId);
        } finally {
            lock.unlock();
        }
    }

    /** Drops entries beyond the size bound (least recently used first) and expired ones at the old end. */
    private void prune(LinkedHashMap<Long, Long> m) {
        long now = clock.nanos();
        var it = m.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (m.size() > maxBlocksPerWorker || e.getValue() - now <= 0) {
                it.remove();
            } else {
                break;
            }
        }
    }
}
