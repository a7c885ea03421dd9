package dev.tandem.engine.compute;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;

/**
 * What the built-in engine's assembly ({@code NativeEngineProvider.core}) asks of a compute backend: how much KV
 * memory it has, what a block costs, how long a context it attends over, and the backend itself. The CPU and the
 * cuda backends share everything else (model loading, weight types, scheduler, KV block manager, engine loop).
 */
public interface BackendFactory {

    /** KV bytes when the user sets none (option {@code kv-memory-bytes}). */
    long defaultKvBytes(EngineConfig config, LlamaConfig model, LlamaWeights weights);

    /** Bytes one KV block of {@code blockSize} positions takes. */
    long bytesPerBlock(LlamaConfig model, int blockSize);

    /** The longest context the backend attends over (the model's, or less). */
    default int maxContext(LlamaConfig model) {
        return model.contextLength();
    }

    ComputeBackend create(EngineConfig config, LlamaConfig model, LlamaWeights weights, int blocks);
}
