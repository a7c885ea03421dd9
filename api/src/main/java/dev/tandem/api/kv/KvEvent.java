package dev.tandem.api.kv;

/**
 * A change to a worker's prefix cache, in chained block hashes (DESIGN §4). Stores and removals name the tier they
 * happened in (vLLM's {@code medium}): null for the engine's primary cache, {@link #HOST} or {@link #DISK} for the
 * tiers below it, from which a hit is loaded back at some cost.
 */
public sealed interface KvEvent {

    /** Host memory below the primary cache (vLLM's offloading medium "CPU"). */
    String HOST = "CPU";

    /** Disk below the primary cache (or below host memory). */
    String DISK = "DISK";

    /**
     * Blocks became reusable cache entries.
     *
     * @param parentHash chained hash of the block before the first one, or null for a sequence's first block
     * @param blockHashes chained hashes, in sequence order
     * @param medium the tier: null for the primary cache
     */
    record BlockStored(Long parentHash, long[] blockHashes, String medium) implements KvEvent {

        public BlockStored(Long parentHash, long[] blockHashes) {
            this(parentHash, blockHashes, null);
        }
    }

    /**
     * Blocks left the cache (evicted or overwritten).
     *
     * @param medium the tier: null for the primary cache
     */
    record BlockRemoved(long[] blockHashes, String medium) implements KvEvent {

        public BlockRemoved(long[] blockHashes) {
            this(blockHashes, null);
        }
    }

    /** The whole cache was dropped (reset, restart). */
    record AllBlocksCleared() implements KvEvent {}
}
