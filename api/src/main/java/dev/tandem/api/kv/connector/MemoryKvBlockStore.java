package dev.tandem.api.kv.connector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * KV blocks in one off-heap segment in the layout's byte order, for engines without their own store, transfer
 * benchmarks and tests. Thread-safety is the caller's, as {@link KvBlockStore} describes.
 */
public final class MemoryKvBlockStore implements KvBlockStore, AutoCloseable {

    private final KvLayout layout;
    private final int blocks;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;

    public MemoryKvBlockStore(KvLayout layout, int blocks) {
        this.layout = layout;
        this.blocks = blocks;
        this.memory = arena.allocate(layout.bytesPerBlock() * blocks, 64);
    }

    /** The whole store (every block, in order), e.g. to fill it with a pattern. */
    public MemorySegment memory() {
        return memory;
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public int numBlocks() {
        return blocks;
    }

    private MemorySegment block(int block) {
        if (block < 0 || block >= blocks) {
            throw new IndexOutOfBoundsException("block " + block + " of " + blocks);
        }
        return memory.asSlice(block * layout.bytesPerBlock(), layout.bytesPerBlock());
    }

    private MemorySegment layer(int block, int layer) {
        long bytes = 2 * layout.bytesPerLayerHalf();
        return block(block).asSlice(layer * bytes, bytes);
    }

    @Override
    public void readBlock(int block, MemorySegment dst) {
        MemorySegment.copy(block(block), 0, dst, 0, layout.bytesPerBlock());
    }

    @Override
    public void writeBlock(int block, MemorySegment src) {
        MemorySegment.copy(src, 0, block(block), 0, layout.bytesPerBlock());
    }

    @Override
    public void readBlockLayer(int block, int layer, MemorySegment dst) {
        MemorySegment l = layer(block, layer);
        MemorySegment.copy(l, 0, dst, 0, l.byteSize());
    }

    @Override
    public void writeBlockLayer(int block, int layer, MemorySegment src) {
        MemorySegment l = layer(block, layer);
        MemorySegment.copy(src, 0, l, 0, l.byteSize());
    }

    @Override
    public java.nio.ByteBuffer[] layerViews(int block, int layer) {
        return new java.nio.ByteBuffer[] {layer(block, layer).asByteBuffer().asReadOnlyBuffer()};
    }

    @Override
    public MemorySegment[] writableLayerViews(int block, int layer) {
        return new MemorySegment[] {layer(block, layer)};
    }

    @Override
    public void close() {
        arena.close();
    }
}
