package dev.tandem.api.kv;

/** A change to a worker's prefix cache, in chained block hashes (DESIGN §4). */
public sealed interface KvEvent {

    /**
     * Blocks became reusable cache entries.
     *
     * @param parentHash chained hash of the block before the first one, or null for a sequence's first block
     * @param blockHashes chained hashes, in sequence order
     */
    record BlockStored(Long parentHash, long[] blockHashes) implements KvEvent {}

    /** Blocks left the cache (evicted or overwritten). */
    record BlockRemoved(long[] blockHashes) implements KvEvent {}

    /** The whole cache was dropped (reset, restart). */
    record AllBlocksCleared() implements KvEvent {}
}
