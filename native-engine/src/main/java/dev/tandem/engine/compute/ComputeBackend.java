package dev.tandem.engine.compute;

import dev.tandem.engine.scheduler.StepPlan;

/**
 * The arithmetic of the built-in engine: given a step's chunks, computes their KV and samples a token for every
 * chunk that reaches the end of its sequence. The scheduler and block manager are shared by all backends; a backend
 * only computes. Called from the engine's scheduling thread, one step at a time.
 */
public interface ComputeBackend extends AutoCloseable {

    /**
     * Executes {@code plan}.
     *
     * @return sampled tokens (one per sampling chunk, in plan order) and the step's modeled duration
     */
    StepOutput execute(StepPlan plan);

    /** The model's vocabulary size. */
    int vocabSize();

    /** The model's context length. */
    int contextLength();

    /** The KV blocks this backend computes into, for connectors; null for a backend that holds no KV (the sim). */
    default dev.tandem.api.kv.connector.KvBlockStore kvStore() {
        return null;
    }

    /**
     * Gives the backend the connector whose worker half it calls around each forward pass (load before a layer
     * reads KV, save after it writes). Called once, before the first step.
     */
    default void connect(dev.tandem.api.kv.connector.KvConnector connector) {}

    @Override
    default void close() {}
}
