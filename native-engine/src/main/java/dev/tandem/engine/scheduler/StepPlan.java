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
 * @param connectorMetadata what the KV connector's worker half does in this step
 */
public record StepPlan(
        List<ScheduledChunk> chunks,
        int prefillTokens,
        int decodeSequences,
        int kvBlocksUsed,
        int kvBlocksTotal,
        dev.tandem.api.kv.connector.ConnectorMetadata connectorMetadata) {

    public StepPlan(
            List<ScheduledChunk> chunks, int prefillTokens, int decodeSequences, int kvBlocksUsed, int kvBlocksTotal) {
        this(
                chunks,
                prefillTokens,
                decodeSequences,
                kvBlocksUsed,
                kvBlocksTotal,
                dev.tandem.api.kv.connector.ConnectorMetadata.EMPTY);
    }

    public boolean isEmpty() {
        return chunks.isEmpty();
    }
}
