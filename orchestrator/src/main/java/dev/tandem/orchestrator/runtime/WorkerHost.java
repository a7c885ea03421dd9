package dev.tandem.orchestrator.runtime;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.ModelCards;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.Subjects;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvEventCodec;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.proto.ModelCard;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The worker role: hosts one engine, registers it in discovery under a lease (instance key and model card),
 * publishes its KV events and periodic load snapshots on the event plane. Closing it deregisters first, then stops
 * the engine.
 *
 * <p>When the lease ends while the worker still serves (discovery was unreachable for longer than the TTL, so the
 * keep-alives lapsed), the worker registers again, under a fresh lease and the same instance id, as soon as
 * discovery answers: otherwise an etcd outage longer than the TTL would make every frontend drop a healthy worker
 * for good.
 */
public final class WorkerHost implements AutoCloseable {

    public static final String COMPONENT = "backend";
    public static final String ENDPOINT = "generate";

    private static final System.Logger LOG = System.getLogger(WorkerHost.class.getName());

    /** How often the lease is checked, and a lapsed registration retried. */
    static final long REGISTRATION_CHECK_MS = 250;

    private final String namespace;
    private final String instanceId;
    private final Engine engine;
    private final Discovery discovery;
    private final Duration ttl;
    private final String address;
    private final ModelCard card;
    private final ScheduledExecutorService loadTicker;
    private final ScheduledExecutorService registrar;
    /** Guards {@link #lease} and {@link #registered} against a re-registration racing deregistration. */
    private final Object registration = new Object();

    private Lease lease;
    private boolean registered = true;

    private WorkerHost(
            String namespace,
            String instanceId,
            Engine engine,
            Discovery discovery,
            Duration ttl,
            String address,
            ModelCard card,
            Lease lease,
            EventPlane events) {
        this.namespace = namespace;
        this.instanceId = instanceId;
        this.engine = engine;
        this.discovery = discovery;
        this.ttl = ttl;
        this.address = address;
        this.card = card;
        this.lease = lease;
        this.loadTicker = Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("load-" + instanceId).factory());
        String subject = Subjects.load(namespace, instanceId);
        loadTicker.scheduleAtFixedRate(
                () -> events.publish(subject, KvEventCodec.encode(engine.load())), 0, 200, TimeUnit.MILLISECONDS);
        // A thread of its own: a registration attempt may wait for discovery (seconds) and must not hold up the
        // load snapshots.
        this.registrar = Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("registration-" + instanceId).factory());
        registrar.scheduleWithFixedDelay(
                this::keepRegistered, REGISTRATION_CHECK_MS, REGISTRATION_CHECK_MS, TimeUnit.MILLISECONDS);
    }

    /** The sink an engine of this worker publishes its KV events through. */
    public static KvEventSink eventSink(EventPlane events, String namespace, String instanceId) {
        String subject = Subjects.kvEvents(namespace, instanceId);
        // One sink per engine start: its batches carry this start's incarnation, so routers tell a restarted worker
        // (same instance id, event ids from 1 again) from duplicates of the old one.
        long incarnation = java.util.concurrent.ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        return (KvEventBatch batch) -> events.publish(subject, KvEventCodec.encode(batch.withIncarnation(incarnation)));
    }

    /**
     * Registers {@code engine}, reachable at {@code address}, and starts publishing its load.
     *
     * @param ttl lease time-to-live; the discovery implementation keeps it alive
     */
    public static WorkerHost start(
            String namespace,
            String instanceId,
            Engine engine,
            String address,
            Discovery discovery,
            EventPlane events,
            Duration ttl)
            throws IOException {
        return start(namespace, instanceId, engine, address, discovery, events, discovery.grantLease(ttl), ttl, "agg");
    }

    /** As {@link #start(String, String, Engine, String, Discovery, EventPlane, Duration)}, in {@code role}. */
    public static WorkerHost start(
            String namespace,
            String instanceId,
            Engine engine,
            String address,
            Discovery discovery,
            EventPlane events,
            Duration ttl,
            String role)
            throws IOException {
        return start(namespace, instanceId, engine, address, discovery, events, discovery.grantLease(ttl), ttl, role);
    }

    /** The roles of DESIGN.md: aggregated (prefill and decode), prefill only, decode only. */
    public static final java.util.List<String> ROLES = java.util.List.of("agg", "prefill", "decode");

    /**
     * Registers {@code engine} under an existing lease (whose id may have named the instance), granted with
     * {@code ttl}: a lease that ends while the worker serves is replaced by a fresh one of the same TTL.
     */
    public static WorkerHost start(
            String namespace,
            String instanceId,
            Engine engine,
            String address,
            Discovery discovery,
            EventPlane events,
            Lease lease,
            Duration ttl)
            throws IOException {
        return start(namespace, instanceId, engine, address, discovery, events, lease, ttl, "agg");
    }

    /**
     * Registers {@code engine} in {@code role} ({@link #ROLES}) under an existing lease; a prefill or decode role
     * needs an engine that can transfer KV.
     */
    public static WorkerHost start(
            String namespace,
            String instanceId,
            Engine engine,
            String address,
            Discovery discovery,
            EventPlane events,
            Lease lease,
            Duration ttl,
            String role)
            throws IOException {
        EngineInfo info = engine.info();
        if (!ROLES.contains(role)) {
            throw new IllegalArgumentException("--role must be one of " + ROLES + ", not '" + role + "'");
        }
        if (!role.equals("agg") && !info.capabilities().disaggregation()) {
            throw new IllegalArgumentException(
                    "--role " + role + " needs an engine that can transfer KV; this one cannot");
        }
        ModelCard card = ModelCard.newBuilder()
                .setModel(info.modelName())
                .setInstanceId(instanceId)
                .setBlockSize(info.blockSize())
                .setContextLength(info.contextLength())
                .setKvBlocks(info.kvBlocks())
                .setRole(role)
                .setKvTransfer(info.capabilities().disaggregation())
                .setAddress(address)
                .setVocabSize(info.vocabSize())
                .setSource(engineSource(engine))
                .build();
        register(discovery, namespace, instanceId, address, card, lease);
        return new WorkerHost(namespace, instanceId, engine, discovery, ttl, address, card, lease, events);
    }

    /**
     * Writes the model card, then the instance key, under {@code lease}: frontends learn workers from the cards, so
     * by the time a worker is listed as an instance, the frontends are already being told of its card.
     */
    private static void register(
            Discovery discovery, String namespace, String instanceId, String address, ModelCard card, Lease lease)
            throws IOException {
        discovery.put(DiscoveryKeys.model(namespace, card.getModel(), instanceId), ModelCards.encode(card), lease);
        discovery.put(
                DiscoveryKeys.instance(namespace, COMPONENT, ENDPOINT, instanceId),
                address.getBytes(StandardCharsets.UTF_8),
                lease);
    }

    /**
     * Registers again under a fresh lease when the current one has ended (and the worker was not deregistered);
     * a failed attempt is retried at the next check. The keys are written under the new lease before the old one
     * is revoked, so that a frontend that still sees the old registration never sees the worker leave.
     */
    private void keepRegistered() {
        Lease current;
        synchronized (registration) {
            if (!registered || lease.isAlive()) {
                return;
            }
            current = lease;
        }
        Lease fresh = null;
        try {
            fresh = discovery.grantLease(ttl);
            register(discovery, namespace, instanceId, address, card, fresh);
        } catch (IOException | RuntimeException e) {
            if (fresh != null) {
                fresh.revoke();
            }
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "worker {0}: registering again failed, retrying: {1}",
                    instanceId,
                    e.getMessage());
            return;
        }
        synchronized (registration) {
            if (!registered) {
                fresh.revoke(); // deregistered meanwhile: take the new keys away again
                return;
            }
            lease = fresh;
        }
        current.revoke(); // already gone on the server, or still restored there: either way its keys moved
        LOG.log(
                System.Logger.Level.WARNING,
                "worker {0}: its lease {1} ended while it still serves; registered again under lease {2}",
                instanceId,
                Long.toHexString(current.id()),
                Long.toHexString(fresh.id()));
    }

    /** The model reference for the card, so that frontends can find its tokenizer; empty for built-in models. */
    private static String engineSource(Engine engine) {
        String s = engine.info().source();
        return s == null ? "" : s;
    }

    public String instanceId() {
        return instanceId;
    }

    public String namespace() {
        return namespace;
    }

    public Engine engine() {
        return engine;
    }

    /** Removes the registration (frontends stop routing here) but keeps the engine running. */
    public void deregister() {
        Lease current;
        synchronized (registration) {
            registered = false;
            current = lease;
        }
        registrar.shutdownNow();
        current.revoke();
    }

    @Override
    public void close() {
        loadTicker.shutdownNow();
        deregister();
        engine.close();
    }
}
