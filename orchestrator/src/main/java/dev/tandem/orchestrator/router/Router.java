package dev.tandem.orchestrator.router;

import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The KV-aware router: a policy over the workers' cached prefixes (the {@link KvIndex}, fed by KV events) and the
 * load this router has in flight on each ({@link ActiveLoad}). Thread-safe.
 */
public final class Router {

    private static final System.Logger LOG = System.getLogger(Router.class.getName());

    /** Where a request goes and how much of its prompt the worker is expected to hold. */
    public record Decision(String workerId, int overlapBlocks) {}

    private final RoutingPolicy policy;
    private final KvIndex index = new KvIndex();
    private final ActiveLoad load = new ActiveLoad();

    public Router(RoutingPolicy policy) {
        this.policy = policy;
    }

    public RoutingPolicy policy() {
        return policy;
    }

    public KvIndex index() {
        return index;
    }

    public ActiveLoad load() {
        return load;
    }

    /**
     * Chooses among {@code workerIds} (non-empty) and records the request as in flight there.
     *
     * @throws IllegalArgumentException when there is no worker to choose from
     */
    public Decision route(RoutingRequest request, List<String> workerIds) {
        if (workerIds.isEmpty()) {
            throw new IllegalArgumentException("no worker to route to");
        }
        List<String> ids = workerIds.stream().sorted().toList();
        Map<String, Integer> overlaps = index.overlaps(request.blockHashes(), ids);
        List<Candidate> candidates = new ArrayList<>(ids.size());
        for (String id : ids) {
            candidates.add(new Candidate(id, overlaps.getOrDefault(id, 0), load.of(id)));
        }
        Candidate chosen = candidates.get(policy.choose(request, candidates));
        long uncached = Math.max(0, request.promptTokens() - (long) chosen.overlapBlocks() * request.blockSize());
        load.add(request.requestId(), chosen.workerId(), request.promptBlocks(), uncached);
        return new Decision(chosen.workerId(), chosen.overlapBlocks());
    }

    public void firstToken(String requestId) {
        load.prefilled(requestId);
        policy.onFirstToken(requestId);
    }

    public void finish(String requestId) {
        load.finish(requestId);
        policy.onFinish(requestId);
    }

    public void removeWorker(String workerId) {
        index.removeWorker(workerId);
        load.removeWorker(workerId);
    }

    /**
     * Applies a worker's KV events; on a gap in its event ids, replaces the worker's index entries with a dump
     * fetched through {@code resync} (null when the worker cannot be reached: its entries are then dropped until
     * the next successful re-sync).
     */
    public void onKvEvents(KvEventBatch batch, Function<String, KvStateDump> resync) {
        if (index.apply(batch)) {
            return;
        }
        LOG.log(
                System.Logger.Level.INFO,
                "gap in KV events of {0} at {1}: re-syncing",
                batch.workerId(),
                batch.eventId());
        KvStateDump dump = null;
        try {
            dump = resync.apply(batch.workerId());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "re-sync of " + batch.workerId() + " failed", e);
        }
        if (dump == null) {
            index.removeWorker(batch.workerId());
            return;
        }
        index.reset(dump);
        index.apply(batch);
    }
}
