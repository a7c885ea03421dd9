package dev.tandem.api.kv.connector;

/**
 * A request as a connector sees it.
 *
 * @param requestId the engine request id
 * @param tokens the sequence (prompt, then any tokens generated so far); valid up to {@code length}
 * @param length tokens in the sequence
 * @param promptLength tokens of the prompt
 * @param computedTokens tokens whose KV is computed and resident in the request's blocks
 * @param blockHashes chained hashes of the sequence's full blocks (DESIGN §4), as far as they are known
 * @param kvTransferParams the request's opaque transfer parameters (a JSON object), or null
 */
public record ConnectorRequest(
        String requestId,
        int[] tokens,
        int length,
        int promptLength,
        int computedTokens,
        long[] blockHashes,
        String kvTransferParams) {

    /** The full blocks of the sequence whose chained hashes are known. */
    public int hashedBlocks() {
        return blockHashes.length;
    }
}
