package dev.tandem.api.engine;

import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;

/**
 * A running inference engine: the one SPI every backend implements, built in or external.
 *
 * <p>Thread safety: all methods may be called from any thread. {@link #generate} never blocks on compute; the
 * listener receives deltas on the engine's own thread. KV events go to the sink given in {@link EngineConfig}.
 */
public interface Engine extends AutoCloseable {

    EngineInfo info();

    /**
     * Admits a request. Invalid requests throw {@link EngineException} of kind INVALID_REQUEST before anything is
     * queued; a full engine throws OVERLOADED.
     */
    Generation generate(GenerateRequest request, TokenListener listener);

    /** A point-in-time view of the engine's load. */
    LoadSnapshot load();

    /** The prefix-cache contents and the id of the last KV event they reflect, for router re-sync. */
    KvStateDump dumpKvState();

    /** Stops scheduling; requests still in flight finish with {@link FinishReason#CANCELLED}. */
    @Override
    void close();
}
