package dev.tandem.orchestrator.router;

/**
 * What a policy knows of a request.
 *
 * @param requestId the request
 * @param promptTokens prompt length in tokens
 * @param blockHashes chained hashes of the prompt's full blocks
 * @param blockSize tokens per block
 */
public record RoutingRequest(String requestId, int promptTokens, long[] blockHashes, int blockSize) {

    /** Blocks the prompt occupies, the partial last one included. */
    public int promptBlocks() {
        return (promptTokens + blockSize - 1) / blockSize;
    }
}
