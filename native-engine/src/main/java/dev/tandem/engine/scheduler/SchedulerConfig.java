package dev.tandem.engine.scheduler;

/**
 * Scheduler limits.
 *
 * @param blockSize KV block size in tokens
 * @param kvBlocks KV capacity in blocks
 * @param maxNumBatchedTokens token budget of one step (prefill chunks + decodes)
 * @param maxNumSeqs most sequences running at once
 * @param contextLength most tokens of one sequence
 */
public record SchedulerConfig(int blockSize, int kvBlocks, int maxNumBatchedTokens, int maxNumSeqs, int contextLength) {

    public SchedulerConfig {
        if (blockSize < 1 || kvBlocks < 1 || maxNumBatchedTokens < 1 || maxNumSeqs < 1 || contextLength < 2) {
            throw new IllegalArgumentException("invalid scheduler config " + this);
        }
    }
}
