package dev.tandem.orchestrator.router;

import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.ReentrantLock;
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
    /**
     * What a block in a lower tier is worth against one in the primary cache: loading it back costs a copy from
     * host memory (~10 GB/s, ~1 ms for a 64-token block of an 8B model, against ~20 ms to prefill those tokens on a
     * current GPU) or a read from disk (~1–2 GB/s, several ms). Assumed, not measured per deployment.
     */
    static final Map<String, Double> TIER_WEIGHTS =
            Map.of(dev.tandem.api.kv.KvEvent.HOST, 0.9, dev.tandem.api.kv.KvEvent.DISK, 0.5);

    /** Hears every routing decision (metrics). */
    @FunctionalInterface
    public interface RouteObserver {
        void routed(String workerId, long decisionNanos, double overlapRatio);
    }

    private final java.util.List<RouteObserver> observers = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Adds an observer of routing decisions. */
    public void observe(RouteObserver o) {
        observers.add(o);
    }

    public Router(RoutingPolicy policy) {
        this(policy, null);
    }

    private final Map<String, ReentrantLock> workerLocks = new ConcurrentHashMap<>();
    private final Map<String, List<KvEventBatch>> resyncing = new ConcurrentHashMap<>();
    private volatile Executor resyncs = Executors.newVirtualThreadPerTaskExecutor();

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
        long started = System.nanoTime();
        List<String> ids = workerIds.stream().sorted().toList();
        Map<String, Integer> overlaps = prefixIndex().overlaps(request.blockHashes(), ids);
        if (approximate == null) {
            // Blocks a worker would load back from its host or disk tier count as part of a hit.
            Map<String, Double> tierHits = index.tierHits(request.blockHashes(), overlaps, ids, TIER_WEIGHTS);
            if (!tierHits.isEmpty()) {
                overlaps = new HashMap<>(overlaps);
                for (var e : tierHits.entrySet()) {
                    overlaps.merge(e.getKey(), (int) Math.floor(e.getValue()), Integer::sum);
                }
            }
        }
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
        if (!observers.isEmpty()) {
            long nanos = System.nanoTime() - started;
            double ratio = request.promptBlocks() == 0
                    ? 0
                    : Math.min(1, (double) chosen.overlapBlocks() / request.promptBlocks());
            observers.forEach(o -> o.routed(chosen.workerId(), nanos, ratio));
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
     * Where re-syncs run. Off the caller's thread by default: the caller is the event plane's dispatcher, shared by
     * every worker's events, and a dump is a network call to one worker. A discrete-event replay runs them inline.
     */
    public void resyncOn(Executor executor) {
        this.resyncs = executor;
    }

    /**
     * Applies a worker's KV events; on a gap in its event ids, replaces the worker's index entries with a dump
     * fetched through {@code resync} (null when the worker cannot be reached: its entries are then dropped until
     * the next successful re-sync). The dump is fetched on the re-sync executor; batches of that worker arriving
     * meanwhile wait and are applied after it, in order; other workers' events go on.
     */
    public void onKvEvents(KvEventBatch batch, Function<String, KvStateDump> resync) {
        String w = batch.workerId();
        ReentrantLock lock = workerLocks.computeIfAbsent(w, k -> new ReentrantLock());
        lock.lock();
        try {
            List<KvEventBatch> waiting = resyncing.get(w);
            if (waiting != null) {
                waiting.add(batch);
                return;
            }
            if (index.apply(batch)) {
                return;
            }
            List<KvEventBatch> pending = new ArrayList<>();
            pending.add(batch);
            resyncing.put(w, pending);
        } finally {
            lock.unlock();
        }
        LOG.log(System.Logger.Level.INFO, "gap in KV events of {0} at {1}: re-syncing", w, batch.eventId());
        resyncs.execute(() -> resync(w, resync));
    }

    private void resync(String w, Function<String, KvStateDump> resync) {
        KvStateDump dump = null;
        try {
            dump = resync.apply(w);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "re-sync of " + w + " failed", e);
        }
        ReentrantLock lock = workerLocks.computeIfAbsent(w, k -> new ReentrantLock());
        boolean again = false;
        KvEventBatch gap = null;
        lock.lock();
        try {
            List<KvEventBatch> pending = resyncing.get(w);
            if (dump == null) {
                resyncing.remove(w);
                index.removeWorker(w);
                return;
            }
            index.reset(dump);
            List<KvEventBatch> rest = new ArrayList<>();
            for (KvEventBatch b : pending) {
                if (!rest.isEmpty() || !index.apply(b)) {
                    rest.add(b); // a gap again after the dump: the batches from it wait for the next re-sync
                }
            }
            if (rest.isEmpty()) {
                resyncing.remove(w);
            } else {
                resyncing.put(w, rest);
                again = true;
                gap = rest.getFirst();
            }
        } finally {
            lock.unlock();
        }
        if (again) {
            LOG.log(System.Logger.Level.INFO, "gap in KV events of {0} at {1} after a re-sync", w, gap.eventId());
            resyncs.execute(() -> resync(w, resync));
        }
    }
}
