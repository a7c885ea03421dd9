package dev.tandem.orchestrator.router;

import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The KV-aware router: a policy over what each worker holds (a {@link PrefixIndex}) and the load routed to each
 * ({@link ActiveLoad}). With engines that publish KV events the index is the exact {@link KvIndex}; without them
 * ({@link #approximate}) it is the router's own record of what it sent where. Replicas serving the same workers
 * share their decisions through {@link RouterReplicaSync}. Thread-safe.
 */
public final class Router {

    private static final System.Logger LOG = System.getLogger(Router.class.getName());

    /** Where a request goes and how much of its prompt the worker is expected to hold. */
    public record Decision(String workerId, int overlapBlocks) {}

    /** Observes this router's decisions and their lifecycle (replica sync). */
    public interface DecisionListener {
        void routed(RoutingRequest request, String workerId, long blocks, long prefillTokens);

        void prefilled(String requestId);

        void finished(String requestId);
    }

    private final RoutingPolicy policy;
    private final KvIndex index = new KvIndex();
    private final ApproximateIndex approximate;
    private final ActiveLoad load = new ActiveLoad();
    private volatile DecisionListener listener;

    /** A router fed by KV events. */
    public Router(RoutingPolicy policy) {
        this(policy, null);
    }

    private Router(RoutingPolicy policy, ApproximateIndex approximate) {
        this.policy = policy;
        this.approximate = approximate;
    }

    /**
     * A router for engines without KV events: it assumes each worker holds the prefixes routed to it for
     * {@code ttl} after their last use, at most {@code maxBlocksPerWorker} of them.
     */
    public static Router approximate(RoutingPolicy policy, Clock clock, Duration ttl, int maxBlocksPerWorker) {
        return new Router(policy, new ApproximateIndex(clock, ttl, maxBlocksPerWorker));
    }

    public RoutingPolicy policy() {
        return policy;
    }

    /** The KV-event index (empty in approximate mode). */
    public KvIndex index() {
        return index;
    }

    /** The index decisions are made on. */
    public PrefixIndex prefixIndex() {
        return approximate != null ? approximate : index;
    }

    public boolean isApproximate() {
        return approximate != null;
    }

    public ActiveLoad load() {
        return load;
    }

    void setListener(DecisionListener l) {
        this.listener = l;
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
        Map<String, Integer> overlaps = prefixIndex().overlaps(request.blockHashes(), ids);
        List<Candidate> candidates = new ArrayList<>(ids.size());
        for (String id : ids) {
            candidates.add(new Candidate(id, overlaps.getOrDefault(id, 0), load.of(id)));
        }
        Candidate chosen = candidates.get(policy.choose(request, candidates));
        long uncached = Math.max(0, request.promptTokens() - (long) chosen.overlapBlocks() * request.blockSize());
        record(request, chosen.workerId(), request.promptBlocks(), uncached);
        DecisionListener l = listener;
        if (l != null) {
            l.routed(request, chosen.workerId(), request.promptBlocks(), uncached);
        }
        return new Decision(chosen.workerId(), chosen.overlapBlocks());
    }

    /** Books a decision (this router's, or a replica's) into the load, the policy and the approximate index. */
    void record(RoutingRequest request, String workerId, long blocks, long uncached) {
        load.add(request.requestId(), workerId, blocks, uncached);
        policy.onRouted(request, workerId);
        if (approximate != null) {
            approximate.record(workerId, request.blockHashes());
        }
    }

    public void firstToken(String requestId) {
        prefilled(requestId);
        DecisionListener l = listener;
        if (l != null) {
            l.prefilled(requestId);
        }
    }

    public void finish(String requestId) {
        finished(requestId);
        DecisionListener l = listener;
        if (l != null) {
            l.finished(requestId);
        }
    }

    void prefilled(String requestId) {
        load.prefilled(requestId);
        policy.onFirstToken(requestId);
    }

    void finished(String requestId) {
        load.finish(requestId);
        policy.onFinish(requestId);
    }

    public void removeWorker(String workerId) {
        index.removeWorker(workerId);
        if (approximate != null) {
            approximate.removeWorker(workerId);
        }
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
