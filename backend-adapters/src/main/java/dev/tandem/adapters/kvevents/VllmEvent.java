package dev.tandem.adapters.kvevents;

/**
 * A KV cache event of an external engine, as vLLM defines them (SGLang publishes the same; TensorRT-LLM's are mapped
 * onto them); block hashes are the engine's own, as longs.
 */
public sealed interface VllmEvent {

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
