package dev.tandem.api.kv.connector;

import java.lang.foreign.MemorySegment;

/**
 * An engine's KV blocks as connectors reach them, by the block ids its block manager hands out.
 *
 * <p>Reading a block that no running computation writes (a held block, a full block in the prefix cache) and
 * writing a block allocated to a request waiting for its load are safe from any thread: the engine never touches
 * those blocks meanwhile. Every other use belongs to the engine's threads.
 */
public interface KvBlockStore {

    KvLayout layout();

    int numBlocks();

    /** Copies block {@code block} into {@code dst} ({@link KvLayout#bytesPerBlock()} bytes) in the layout's order. */
    void readBlock(int block, MemorySegment dst);

    /** Copies {@code src} ({@link KvLayout#bytesPerBlock()} bytes, the layout's order) into block {@code block}. */
    void writeBlock(int block, MemorySegment src);

    /** Copies layer {@code layer} of block {@code block} (keys then values, 2 × {@link KvLayout#bytesPerLayerHalf()}). */
    void readBlockLayer(int block, int layer, MemorySegment dst);

    /** Copies {@code src} (keys then values of one layer) into layer {@code layer} of block {@code block}. */
    void writeBlockLayer(int block, int layer, MemorySegment src);

    /**
     * Read-only views of layer {@code layer} of block {@code block} in the layout's byte order (keys, then values:
     * their concatenation is what {@link #readBlockLayer} copies), so a sender can hand the bytes to the transport
     * without copying them first; null when the store cannot give views (then callers copy). Valid while the block
     * is not written.
     */
    default java.nio.ByteBuffer[] layerViews(int block, int layer) {
        return null;
    }

    /**
     * Writable views of layer {@code layer} of block {@code block} (keys, then values, in the layout's byte order),
     * so a receiver can copy arriving bytes straight into place; null when the store cannot give them. For a block
     * the caller owns (allocated to a request waiting for its load).
     */
    default MemorySegment[] writableLayerViews(int block, int layer) {
        return null;
    }
}
