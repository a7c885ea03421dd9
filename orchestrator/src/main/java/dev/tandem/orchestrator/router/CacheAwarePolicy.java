package dev.tandem.orchestrator.router;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code cache-aware}: SGLang router's policy with its fixed parameters. When the cluster is imbalanced (max − min
 * requests in flight > 64 and max > 1.5 × min) the least loaded worker; otherwise the worker with the longest prefix
 * match in the router's own record of the prompts it sent there, if the match covers more than 30% of the prompt;
 * else the least loaded. The record (per worker, by chained block hash) forgets least recently used blocks beyond
 * 2^24 tokens per worker, like SGLang's bounded approximate tree; it never sees the workers' real evictions.
 */
public final class CacheAwarePolicy implements RoutingPolicy {

    static final int BALANCE_ABS_THRESHOLD = 64;
    static final double BALANCE_REL_THRESHOLD = 1.5;
    static final double CACHE_THRESHOLD = 0.3;
    static final long MAX_RECORD_TOKENS = 1L << 24;

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, LinkedHashMap<Long, Boolean>> records = new HashMap<>();

    @Override
    public String name() {
        return "cache-aware";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        lock.lock();
        try {
            int chosen = decide(request, candidates);
            remember(candidates.get(chosen).workerId(), request);
            return chosen;
        } finally {
            lock.unlock();
        }
    }

    private int decide(RoutingRequest request, List<Candidate> candidates) {
        int least = 0;
        int most = 0;
        for (int i = 1; i < candidates.size(); i++) {
            int r = candidates.get(i).load().requests();
            if (r < candidates.get(least).load().requests()) {
                least = i;
            }
            if (r > candidates.get(most).load().requests()) {
                most = i;
            }
        }
        int max = candidates.get(most).load().requests();
        int min = candidates.get(least).load().requests();
        if (max - min > BALANCE_ABS_THRESHOLD && max > BALANCE_REL_THRESHOLD * min) {
            return least;
        }
        int best = -1;
        int bestMatch = 0;
        for (int i = 0; i < candidates.size(); i++) {
            int m = match(candidates.get(i).workerId(), request.blockHashes());
            if (m > bestMatch) {
                best = i;
                bestMatch = m;
            }
        }
        double rate =
                request.promptTokens() == 0 ? 0 : (double) bestMatch * request.blockSize() / request.promptTokens();
        return best >= 0 && rate > CACHE_THRESHOLD ? best : least;
    }

    private int match(String worker, long[] hashes) {
        LinkedHashMap<Long, Boolean> r = records.get(worker);
        if (r == null) {
            return 0;
        }
        int n = 0;
        while (n < hashes.length && r.containsKey(hashes[n])) {
            n++;
        }
        return n;
    }

    private void remember(String worker, RoutingRequest request) {
        long maxBlocks = Math.max(1, MAX_RECORD_TOKENS / request.blockSize());
        LinkedHashMap<Long, Boolean> r = records.computeIfAbsent(worker, w -> new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > maxBlocks;
            }
        });
        for (long h : request.blockHashes()) {
            r.put(h, Boolean.TRUE);
        }
    }
}
