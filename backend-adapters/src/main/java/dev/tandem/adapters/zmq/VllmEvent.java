package dev.tandem.adapters.zmq;

/** One of vLLM's KV cache events, decoded from either wire format; block hashes are vLLM's own, as longs. */
sealed interface VllmEvent {

    /**
     * Blocks stored in the engine's cache.
     *
     * @param parent the vLLM hash of the block before the first of these, or null when they start a sequence
     * @param tokens the tokens of these blocks, {@code blockSize} per block
     * @param plain false when the blocks are not plain token blocks of the base model (a LoRA adapter, extra keys
     *     such as multimodal inputs or a cache salt, another medium or attention group): they are never routed on
     */
    record Stored(long[] hashes, Long parent, int[] tokens, int blockSize, boolean plain) implements VllmEvent {}

    /** Blocks evicted from the engine's cache. */
    record Removed(long[] hashes) implements VllmEvent {}

    /** Every block dropped (a prefix-cache reset). */
    record Cleared() implements VllmEvent {}
}
