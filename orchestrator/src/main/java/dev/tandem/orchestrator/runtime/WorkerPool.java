package dev.tandem.orchestrator.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.ModelCards;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchEvent;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.Subjects;
import dev.tandem.api.events.Subscription;
import dev.tandem.api.kv.KvEventCodec;
import dev.tandem.api.proto.ModelCard;
import dev.tandem.orchestrator.router.Router;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The frontend's live view of the workers: model cards watched in discovery, a request-plane client per worker,
 * and the workers' KV events fed to the router. A worker whose KV block size differs from the router's is refused
 * (logged as an error, never routed to): mixing block sizes would make every cache lookup silently wrong.
 */
public final class WorkerPool implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(WorkerPool.class.getName());

    /** One registered worker. */
    public record Worker(ModelCard card, WorkerClient client) {
        public String id() {
            return card.getInstanceId();
        }
    }

    private final int blockSize;
    private final Router router;
    private final Function<String, WorkerClient> connector;
    private final Map<String, Worker> workers = new ConcurrentHashMap<>();
    private final Map<String, String> keyToInstance = new ConcurrentHashMap<>();
    /** Every model a worker has served since this pool started: a request for one of them that no worker serves
     * now is a 503 (retry), not a 404. */
    private final java.util.Set<String> modelsSeen = ConcurrentHashMap.newKeySet();
    /** Workers that failed a dispatch or a stream, with when: routed around until discovery says otherwise. */
    private final Map<String, Long> down = new ConcurrentHashMap<>();

    /**
     * How long a failed worker is kept out of routing when discovery says nothing: long enough for a dead worker's
     * lease to expire, short enough that a transient failure does not remove a healthy worker for good.
     */
    static final long DOWN_NANOS = 30_000_000_000L;

    private final Watch watch;
    private final Subscription kvSubscription;
    private final Subscription loadSubscription;
    /** The latest load snapshot of each worker (published every 200 ms). */
    private final Map<String, dev.tandem.api.kv.LoadSnapshot> loads = new ConcurrentHashMap<>();

    /**
     * @param connector makes a request-plane client for a worker's address
     */
    public WorkerPool(
            String namespace,
            int blockSize,
            Router router,
            Discovery discovery,
            EventPlane events,
            Function<String, WorkerClient> connector)
            throws IOException {
        this.blockSize = blockSize;
        this.router = router;
        this.connector = connector;
        this.kvSubscription = events.subscribe(Subjects.allKvEvents(namespace), msg -> {
            try {
                router.onKvEvents(KvEventCodec.decodeBatch(msg.payload()), this::dump);
            } catch (InvalidProtocolBufferException e) {
                LOG.log(System.Logger.Level.WARNING, "undecodable KV event batch on " + msg.subject(), e);
            }
        });
        this.loadSubscription = events.subscribe(Subjects.allLoad(namespace), msg -> {
            try {
                var s = KvEventCodec.decodeLoad(msg.payload());
                if (workers.containsKey(s.workerId())) {
                    loads.put(s.workerId(), s);
                }
            } catch (InvalidProtocolBufferException e) {
                LOG.log(System.Logger.Level.WARNING, "undecodable load snapshot on " + msg.subject(), e);
            }
        });
        this.watch = discovery.watch(DiscoveryKeys.modelsPrefix(namespace), this::onDiscovery);
    }

    private dev.tandem.api.kv.KvStateDump dump(String workerId) {
        Worker w = workers.get(workerId);
        return w == null ? null : w.client().dumpKvState();
    }

    private void onDiscovery(WatchEvent event) {
        switch (event) {
            case WatchEvent.Put put -> {
                ModelCard card;
                try {
                    card = ModelCards.decode(put.kv().value());
                } catch (InvalidProtocolBufferException e) {
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "unreadable model card at " + put.kv().key(),
                            e);
                    return;
                }
                if (card.getBlockSize() != blockSize) {
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "REFUSED worker {0}: its KV block size is {1} but this frontend routes with {2}; start"
                                    + " both with the same --block-size",
                            card.getInstanceId(),
                            card.getBlockSize(),
                            blockSize);
                    return;
                }
                keyToInstance.put(put.kv().key(), card.getInstanceId());
                modelsSeen.add(card.getModel());
                // A worker registering again at the same address (a fresh lease after an etcd outage) keeps its
                // client: closing it would break the streams in flight on a healthy worker.
                Worker previous = workers.get(card.getInstanceId());
                WorkerClient client =
                        previous != null && previous.card().getAddress().equals(card.getAddress())
                                ? previous.client()
                                : connector.apply(card.getAddress());
                workers.put(card.getInstanceId(), new Worker(card, client));
                down.remove(card.getInstanceId());
                if (previous != null && previous.client() != client) {
                    previous.client().close();
                }
                LOG.log(System.Logger.Level.INFO, "worker {0} serves {1}", card.getInstanceId(), card.getModel());
            }
            case WatchEvent.Delete del -> {
                String id = keyToInstance.remove(del.key());
                if (id != null) {
                    down.remove(id);
                    Worker w = workers.remove(id);
                    loads.remove(id);
                    router.removeWorker(id);
                    // Closing the client lets the calls in flight finish: a worker that deregistered on SIGTERM
                    // drains them; on a dead worker they have failed already.
                    if (w != null) {
                        w.client().close();
                    }
                    LOG.log(System.Logger.Level.INFO, "worker {0} left", id);
                }
            }
        }
    }

    /** Every registered worker, down or not. */
    public List<Worker> all() {
        return workers.values().stream()
                .sorted(java.util.Comparator.comparing(Worker::id))
                .toList();
    }

    /** Whether a worker is routed around after a failure. */
    public boolean isDown(String instanceId) {
        Long since = down.get(instanceId);
        if (since == null) {
            return false;
        }
        if (System.nanoTime() - since > DOWN_NANOS) {
            down.remove(instanceId, since);
            return false;
        }
        return true;
    }

    /** Names of the models some worker serves, sorted. */
    public List<String> models() {
        return List.copyOf(new TreeSet<>(
                workers.values().stream().map(w -> w.card().getModel()).toList()));
    }

    /** The workers serving {@code model}, except those marked down. */
    public List<Worker> workersFor(String model) {
        return workers.values().stream()
                .filter(w -> w.card().getModel().equals(model) && !isDown(w.id()))
                .toList();
    }

    /**
     * Stops routing to a worker that failed a dispatch or broke a stream, until discovery says otherwise (its
     * registration is written again, or deleted) or, failing that, for {@link #DOWN_NANOS}.
     */
    public void markDown(String instanceId) {
        if (workers.containsKey(instanceId) && down.put(instanceId, System.nanoTime()) == null) {
            LOG.log(System.Logger.Level.WARNING, "worker {0} marked down after a failure", instanceId);
        }
    }

    /** Any worker's card for {@code model}. */
    /** Whether a worker has served {@code model} since this pool started (it may have none now). */
    public boolean servedBefore(String model) {
        return modelsSeen.contains(model);
    }

    public Optional<ModelCard> card(String model) {
        return workersFor(model).stream().map(Worker::card).findFirst();
    }

    public Optional<Worker> worker(String instanceId) {
        return Optional.ofNullable(workers.get(instanceId));
    }

    public int size() {
        return (int) workers.keySet().stream().filter(id -> !isDown(id)).count();
    }

    public int blockSize() {
        return blockSize;
    }

    /** The latest load snapshot of each registered worker. */
    public java.util.Collection<dev.tandem.api.kv.LoadSnapshot> loads() {
        return List.copyOf(loads.values());
    }

    @Override
    public void close() {
        watch.close();
        kvSubscription.close();
        loadSubscription.close();
        workers.values().forEach(w -> w.client().close());
        workers.clear();
    }
}
