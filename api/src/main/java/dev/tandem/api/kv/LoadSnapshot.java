package dev.tandem.api.kv;

/**
 * How loaded a worker is at one instant.
 *
 * @param workerId the worker
 * @param runningRequests sequences being scheduled
 * @param waitingRequests sequences queued for admission
 * @param kvBlocksUsed KV blocks referenced by sequences
 * @param kvBlocksTotal KV capacity
 * @param pendingPrefillTokens prompt tokens admitted but not yet computed
 * @param timestampNanos when the snapshot was taken, on the engine's clock
 */
public record LoadSnapshot(
        String workerId,
        int runningRequests,
        int waitingRequests,
        int kvBlocksUsed,
        int kvBlocksTotal,
        long pendingPrefillTokens,
        long timestampNanos) {

    public double kvUsage() {
        return kvBlocksTotal == 0 ? 0 : (double) kvBlocksUsed / kvBlocksTotal;
    }
}
