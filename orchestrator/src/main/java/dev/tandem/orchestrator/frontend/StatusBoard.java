package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.kv.LoadSnapshot;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What {@code /status.json} shows a person: every worker (id, role, model, address, state, KV usage, prefix hit
 * rate, running and waiting requests) and the latest routing decisions with their overlap. A prefix hit rate is
 * the worker's own (hit ÷ queried prompt tokens since its engine started, from its load snapshots) when its engine
 * counts them, else this frontend's: cached ÷ prompt tokens of the requests the worker served for it.
 */
final class StatusBoard {

    private static final int DECISIONS = 32;

    private record Decision(long timeMillis, String workerId, double overlapRatio) {}

    private final ArrayDeque<Decision> decisions = new ArrayDeque<>();
    /** Per worker: prompt tokens, cached prompt tokens. */
    private final Map<String, long[]> served = new ConcurrentHashMap<>();

    void routed(String workerId, double overlapRatio) {
        synchronized (decisions) {
            if (decisions.size() == DECISIONS) {
                decisions.removeFirst();
            }
            decisions.addLast(new Decision(System.currentTimeMillis(), workerId, overlapRatio));
        }
    }

    void served(String workerId, int promptTokens, int cachedTokens) {
        long[] t = served.computeIfAbsent(workerId, w -> new long[2]);
        synchronized (t) {
            t[0] += promptTokens;
            t[1] += cachedTokens;
        }
    }

    ObjectNode json(WorkerPool pool, String policy) {
        ObjectNode root = Json.object();
        root.put("policy", policy);
        Map<String, LoadSnapshot> loads = new java.util.HashMap<>();
        pool.loads().forEach(l -> loads.put(l.workerId(), l));
        ArrayNode workers = root.putArray("workers");
        for (WorkerPool.Worker w : pool.all()) {
            ObjectNode o = workers.addObject();
            o.put("id", w.id());
            o.put("role", w.card().getRole());
            o.put("model", w.card().getModel());
            o.put("address", w.card().getAddress());
            o.put("state", pool.isDown(w.id()) ? "down" : "up");
            LoadSnapshot l = loads.get(w.id());
            if (l != null) {
                o.put("kv_blocks_used", l.kvBlocksUsed());
                o.put("kv_blocks_total", l.kvBlocksTotal());
                o.put("kv_usage", l.kvUsage());
                o.put("running", l.runningRequests());
                o.put("waiting", l.waitingRequests());
            }
            long[] t = served.get(w.id());
            if (t != null) {
                synchronized (t) {
                    o.put("prompt_tokens", t[0]);
                    o.put("prefix_hit_rate", t[0] == 0 ? 0 : (double) t[1] / t[0]);
                }
            }
            if (l != null && l.prefixQueryTokens() > 0) {
                // the worker's own count, over every frontend's requests, replaces this frontend's
                o.put("prefix_hit_rate", (double) l.prefixHitTokens() / l.prefixQueryTokens());
                o.put("preemptions", l.preemptions());
            }
        }
        ArrayNode ds = root.putArray("decisions");
        synchronized (decisions) {
            for (var it = decisions.descendingIterator(); it.hasNext(); ) {
                Decision d = it.next();
                ds.addObject()
                        .put("time_ms", d.timeMillis())
                        .put("worker", d.workerId())
                        .put("overlap", d.overlapRatio());
            }
        }
        return root;
    }
}
