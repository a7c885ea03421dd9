package dev.tandem.orchestrator.runtime;

import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvStateDump;

/**
 * The frontend's handle on one worker's request plane: in-process in the embedded default, gRPC across processes.
 * Transport failures surface as {@link dev.tandem.api.engine.EngineException} of kind UNAVAILABLE.
 */
public interface WorkerClient extends AutoCloseable {

    String instanceId();

    Generation generate(GenerateRequest request, TokenListener listener);

    KvStateDump dumpKvState();

    @Override
    default void close() {}
}
