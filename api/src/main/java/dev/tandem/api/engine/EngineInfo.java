package dev.tandem.api.engine;

import java.util.Set;

/**
 * What an engine serves.
 *
 * @param modelName the name clients use in the {@code model} field
 * @param blockSize KV block size in tokens; routers must use the same
 * @param contextLength most tokens (prompt + generated) of one sequence
 * @param kvBlocks KV capacity in blocks
 * @param vocabSize number of token ids
 * @param eosTokenIds ids that end generation unless ignore_eos
 * @param source the model reference the engine loaded (a path or hub name), or null for built-in models
 * @param weightBytesPerToken bytes of weights one forward step reads, whatever its batch (so the memory traffic per
 *     token of a batch-1 decode, which bounds its speed), or 0 where the engine does not know (simulated or remote)
 * @param capabilities what the engine can do beyond generating
 */
public record EngineInfo(
        String modelName,
        int blockSize,
        int contextLength,
        int kvBlocks,
        int vocabSize,
        Set<Integer> eosTokenIds,
        String source,
        long weightBytesPerToken,
        EngineCapabilities capabilities) {

    public EngineInfo {
        eosTokenIds = Set.copyOf(eosTokenIds);
        java.util.Objects.requireNonNull(capabilities, "capabilities");
    }

    public EngineInfo(
            String modelName,
            int blockSize,
            int contextLength,
            int kvBlocks,
            int vocabSize,
            Set<Integer> eosTokenIds,
            String source,
            long weightBytesPerToken) {
        this(
                modelName,
                blockSize,
                contextLength,
                kvBlocks,
                vocabSize,
                eosTokenIds,
                source,
                weightBytesPerToken,
                EngineCapabilities.BUILT_IN);
    }

    public EngineInfo(
            String modelName, int blockSize, int contextLength, int kvBlocks, int vocabSize, Set<Integer> eosTokenIds) {
        this(modelName, blockSize, contextLength, kvBlocks, vocabSize, eosTokenIds, null, 0);
    }

    public EngineInfo(
            String modelName,
            int blockSize,
            int contextLength,
            int kvBlocks,
            int vocabSize,
            Set<Integer> eosTokenIds,
            String source) {
        this(modelName, blockSize, contextLength, kvBlocks, vocabSize, eosTokenIds, source, 0);
    }
}
