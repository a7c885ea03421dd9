package dev.tandem.orchestrator.router;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The load this router has put on each worker: requests in flight, their KV blocks, and prompt tokens still to be
 * prefilled. Added at routing, prefill cleared at the first token, freed at completion or cancellation.
 *
 * <p>Thread-safe; every operation is O(1) under one short lock.
 */
public final class ActiveLoad {

    /** One worker's totals. */
    public record WorkerLoad(int requests, long blocks, long prefillTokens) {
        static final WorkerLoad IDLE = new WorkerLoad(0, 0, 0);
    }

    private static final class Active {
        final String workerId;
        final long blocks;
        long prefillTokens;

        Active(String workerId, long blocks, long prefillTokens) {
            this.workerId = workerId;
            this.blocks = blocks;
            this.prefillTokens = prefillTokens;
        }
    }

    private static final class Totals {
        int requests;
        long blocks;
        long prefillTokens;
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Active> byRequest = new HashMap<>();
    private final Map<String, Totals> byWorker = new HashMap<>();

    public void add(String requestId, String workerId, long blocks, long uncachedPrefillTokens) {
        lock.lock();
        try {
            byRequest.put(requestId, new Active(workerId, blocks, uncachedPrefillTokens));
            Totals t = byWorker.computeIfAbsent(workerId, k -> new Totals());
            t.requests++;
            t.blocks += blocks;
            t.prefillTokens += uncachedPrefillTokens;
        } finally {
            lock.unlock();
        }
    }

    /** The request produced its first token: its prefill is done. */
    public void prefilled(String requestId) {
        lock.lock();
        try {
            Active a = byRequest.get(requestId);
            if (a != null && a.prefillTokens > 0) {
                Totals t = byWorker.get(a.workerId);
                if (t != null) {
                    t.prefillTokens -= a.prefillTokens;
                }
                a.prefillTokens = 0;
            }
        } finally {
            lock.unlock();
        }
    }

    /** The request completed or was cancelled. */
    public void finish(String requestId) {
        lock.lock();
        try {
            Active a = byRequest.remove(requestId);
            if (a == null) {
                return;
            }
            Totals t = byWorker.get(a.workerId);
            if (t != null) {
                t.requests--;
                t.blocks -= a.blocks;
                t.prefillTokens -= a.prefillTokens;
            }
        } finally {
            lock.unlock();
        }
    }

    public WorkerLoad of(String workerId) {
        lock.lock();
        try {
            Totals t = byWorker.get(workerId);
            return t == null ? WorkerLoad.IDLE : new WorkerLoad(t.requests, t.blocks, t.prefillTokens);
        } finally {
            lock.unlock();
        }
    }

    public void removeWorker(String workerId) {
        lock.lock();
        try {
            byWorker.remove(workerId);
            byRequest.values().removeIf(a -> a.workerId.equals(workerId));
        } finally {
            lock.unlock();
        }
    }
}
