package dev.tandem.orchestrator.router;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code tandem}: Tandem's own policy. It predicts each worker's time to first token as the prefill work queued
 * ahead of the request plus the request's own uncached prefill (both in tokens: prefill time is close to linear in
 * them), and sends the request where that is smallest. Under load the uncached part is weighted up (see
 * {@link #AFFINITY_BACKLOG_TOKENS}): each cache hit is prefill work not done, which multiplies effective capacity
 * when the cluster is saturated, so prefixes are kept together instead of chasing the shortest queue.
 *
 * <p>The uncached part counts two kinds of reuse: blocks the worker reports as cached (the KV index), and prefixes
 * of requests this router has already sent there whose prefill has not finished: their KV does not exist yet, so no
 * KV event can announce it, but it will by the time this request is admitted behind them. Without the second kind,
 * a burst of requests sharing a new prefix is scattered over the cluster exactly when it is saturated, and every
 * worker computes the prefix again.
 */
public final class TandemPolicy implements RoutingPolicy {

    /**
     * The mean prefill backlog (tokens per worker) at which a cache miss counts twice. When workers have queues,
     * prefill work that a cache hit would have avoided delays everything behind it, so under load the policy
     * trades some immediate TTFT for affinity; with idle workers it minimises TTFT alone.
     */
    static final double AFFINITY_BACKLOG_TOKENS = 4096;

    private record InFlight(String workerId, long[] hashes) {}

    private final ReentrantLock lock = new ReentrantLock();
    /** Per worker: chained hash → number of in-flight (not yet prefilled) requests whose prompt holds it. */
    private final Map<String, Map<Long, Integer>> pending = new HashMap<>();

    private final Map<String, InFlight> inFlight = new HashMap<>();

    @Override
    public String name() {
        return "tandem";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        lock.lock();
        try {
            int best = -1;
            double bestCost = Double.MAX_VALUE;
            long[] hashes = request.blockHashes();
            double backlog = 0;
            for (Candidate c : candidates) {
                backlog += c.load().prefillTokens();
            }
            double missWeight = 1 + backlog / candidates.size() / AFFINITY_BACKLOG_TOKENS;
            for (int i = 0; i < candidates.size(); i++) {
                Candidate c = candidates.get(i);
                int overlap = Math.max(c.overlapBlocks(), pendingOverlap(c.workerId(), hashes));
                long uncached = Math.max(1, request.promptTokens() - (long) overlap * request.blockSize());
                double cost = c.load().prefillTokens() + missWeight * uncached;
                if (best < 0
                        || cost < bestCost
                        || (cost == bestCost
                                && c.load().requests()
                                        < candidates.get(best).load().requests())) {
                    best = i;
                    bestCost = cost;
                }
            }
            return best;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void onRouted(RoutingRequest request, String workerId) {
        lock.lock();
        try {
            release(request.requestId());
            long[] hashes = request.blockHashes();
            inFlight.put(request.requestId(), new InFlight(workerId, hashes));
            Map<Long, Integer> p = pending.computeIfAbsent(workerId, w -> new HashMap<>());
            for (long h : hashes) {
                p.merge(h, 1, Integer::sum);
            }
        } finally {
            lock.unlock();
        }
    }

    private int pendingOverlap(String worker, long[] hashes) {
        Map<Long, Integer> p = pending.get(worker);
        if (p == null) {
            return 0;
        }
        int n = 0;
        while (n < hashes.length && p.containsKey(hashes[n])) {
            n++;
        }
        return n;
    }

    @Override
    public void onFirstToken(String requestId) {
        release(requestId);
    }

    @Override
    public void onFinish(String requestId) {
        release(requestId);
    }

    private void release(String requestId) {
        lock.lock();
        try {
            InFlight f = inFlight.remove(requestId);
            if (f == null) {
                return;
            }
            Map<Long, Integer> p = pending.get(f.workerId());
            for (long h : f.hashes()) {
                p.computeIfPresent(h, (k, v) -> v == 1 ? null : v - 1);
            }
        } finally {
            lock.unlock();
        }
    }
}
