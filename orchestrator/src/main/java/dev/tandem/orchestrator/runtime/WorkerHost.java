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
 */
public final class WorkerHost implements AutoCloseable {

    public static final String COMPONENT = "backend";
    public static final String ENDPOINT = "generate";

    private final String namespace;
    private final String instanceId;
    private final Engine engine;
    private final Lease lease;
    private final ScheduledExecutorService loadTicker;

    private WorkerHost(String namespace, String instanceId, Engine engine, Lease lease, EventPlane events) {
        this.namespace = namespace;
        this.instanceId = instanceId;
        this.engine = engine;
        this.lease = lease;
        this.loadTicker = Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("load-" + instanceId).factory());
        String subject = Subjects.load(namespace, instanceId);
        loadTicker.scheduleAtFixedRate(
                () -> events.publish(subject, KvEventCodec.encode(engine.load())), 0, 200, TimeUnit.MILLISECONDS);
    }

    /** The sink an engine of this worker publishes its KV events through. */
    public static KvEventSink eventSink(EventPlane events, String namespace, String instanceId) {
        String subject = Subjects.kvEvents(namespace, instanceId);
        return (KvEventBatch batch) -> events.publish(subject, KvEventCodec.encode(batch));
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
        return start(namespace, instanceId, engine, address, discovery, events, discovery.grantLease(ttl));
    }

    /** Registers {@code engine} under an existing lease (whose id may have named the instance). */
    public static WorkerHost start(
            String namespace,
            String instanceId,
            Engine engine,
            String address,
            Discovery discovery,
            EventPlane events,
            Lease lease)
            throws IOException {
        EngineInfo info = engine.info();
        ModelCard card = ModelCard.newBuilder()
                .setModel(info.modelName())
                .setInstanceId(instanceId)
                .setBlockSize(info.blockSize())
                .setContextLength(info.contextLength())
                .setKvBlocks(info.kvBlocks())
                .setRole("agg")
                .setAddress(address)
                .setVocabSize(info.vocabSize())
                .setSource(engineSource(engine))
                .build();
        discovery.put(
                DiscoveryKeys.instance(namespace, COMPONENT, ENDPOINT, instanceId),
                address.getBytes(StandardCharsets.UTF_8),
                lease);
        discovery.put(DiscoveryKeys.model(namespace, info.modelName(), instanceId), ModelCards.encode(card), lease);
        return new WorkerHost(namespace, instanceId, engine, lease, events);
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
        lease.revoke();
    }

    @Override
    public void close() {
        loadTicker.shutdownNow();
        lease.revoke();
        engine.close();
    }
}
