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
 * @param prefixQueryTokens prompt tokens looked up in the prefix cache since the engine started (a counter)
 * @param prefixHitTokens of those, tokens found cached (local or loaded from a connector's cache; a counter)
 * @param preemptions sequences preempted for KV space since the engine started (a counter)
 */
public record LoadSnapshot(
        String workerId,
        int runningRequests,
        int waitingRequests,
        int kvBlocksUsed,
        int kvBlocksTotal,
        long pendingPrefillTokens,
        long timestampNanos,
        long prefixQueryTokens,
        long prefixHitTokens,
        long preemptions) {

    /** A snapshot from an engine that counts no prefix-cache queries or preemptions (they read 0). */
    public LoadSnapshot(
            String workerId,
            int runningRequests,
            int waitingRequests,
            int kvBlocksUsed,
            int kvBlocksTotal,
            long pendingPrefillTokens,
            long timestampNanos) {
        this(
                workerId,
                runningRequests,
                waitingRequests,
                kvBlocksUsed,
                kvBlocksTotal,
                pendingPrefillTokens,
                timestampNanos,
                0,
                0,
                0);
    }

    public double kvUsage() {
        return kvBlocksTotal == 0 ? 0 : (double) kvBlocksUsed / kvBlocksTotal;
    }
}
