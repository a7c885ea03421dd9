package dev.tandem.engine.scheduler;

import java.util.List;

/**
 * What one scheduler step computes.
 *
 * @param chunks per-sequence work, running sequences first
 * @param prefillTokens positions computed by prefill or recompute chunks (prompt work not served by the cache)
 * @param decodeSequences sequences decoding one token
 * @param kvBlocksUsed blocks in use once the step's allocations are made
 * @param kvBlocksTotal KV capacity
 */
public record StepPlan(
        List<ScheduledChunk> chunks, int prefillTokens, int decodeSequences, int kvBlocksUsed, int kvBlocksTotal) {

    public boolean isEmpty() {
        return chunks.isEmpty();
    }
}
