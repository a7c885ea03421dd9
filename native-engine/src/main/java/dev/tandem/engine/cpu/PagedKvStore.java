package dev.tandem.engine.cpu;

import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The KV tensors behind the block manager's block ids: per layer, one f32 array of {@code blocks × kvHeads ×
 * blockSize × headDim} keys and one of values. Position p of a sequence lives in block {@code table[p /
 * blockSize]}, slot {@code p % blockSize}; within a block each KV head's slots lie one after another, so attention
 * over one head reads its keys and values as a contiguous run per block. (Position-major blocks put one head's
 * vectors a whole kvDim apart: attention then read 256-byte pieces at a 3 KiB stride, which the hardware prefetchers
 * do not follow, and a decode position at context 600 cost ~7 µs instead of the ~1.5 µs its bytes take.) Owned by
 * the engine thread; connectors reach it as a {@link KvBlockStore} (a block's keys and values per layer are each one
 * contiguous run of its layer arrays, so a block moves as {@code 2 × layers} bulk copies).
 */
final class PagedKvStore implements KvBlockStore {

    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final float[][] keys;
    final float[][] values;
    final int blockSize;
    final int kvHeads;
    final int headDim;
    private final int blocks;
    private final KvLayout layout;

    PagedKvStore(int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        long floats = (long) blocks * blockSize * kvHeads * headDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV store of " + blocks + " blocks is too large for one array per"
                    + " layer; use fewer --kv-blocks");
        }
        this.keys = new float[layers][(int) floats];
        this.values = new float[layers][(int) floats];
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blocks = blocks;
        this.layout = new KvLayout(blockSize, layers, kvHeads, headDim, "f32");
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public int numBlocks() {
        return blocks;
    }

    @Override
    public void readBlock(int block, MemorySegment dst) {
        checkBlock(block, dst);
        int run = kvHeads * blockSize * headDim;
        int base = blockBase(block, 0);
        long at = 0;
        for (int l = 0; l < keys.length; l++) {
            MemorySegment.copy(keys[l], base, dst, LE_FLOAT, at, run);
            at += (long) run * Float.BYTES;
            MemorySegment.copy(values[l], base, dst, LE_FLOAT, at, run);
            at += (long) run * Float.BYTES;
        }
    }

    @Override
    public void writeBlock(int block, MemorySegment src) {
        checkBlock(block, src);
        int run = kvHeads * blockSize * headDim;
        int base = blockBase(block, 0);
        long at = 0;
        for (int l = 0; l < keys.length; l++) {
            MemorySegment.copy(src, LE_FLOAT, at, keys[l], base, run);
            at += (long) run * Float.BYTES;
            MemorySegment.copy(src, LE_FLOAT, at, values[l], base, run);
            at += (long) run * Float.BYTES;
        }
    }

    @Override
    public void readBlockLayer(int block, int layer, MemorySegment dst) {
        int run = kvHeads * blockSize * headDim;
        checkLayer(block, layer, dst, run);
        int base = blockBase(block, 0);
        MemorySegment.copy(keys[layer], base, dst, LE_FLOAT, 0, run);
        MemorySegment.copy(values[layer], base, dst, LE_FLOAT, (long) run * Float.BYTES, run);
    }

    @Override
    public void writeBlockLayer(int block, int layer, MemorySegment src) {
        int run = kvHeads * blockSize * headDim;
        checkLayer(block, layer, src, run);
        int base = blockBase(block, 0);
        MemorySegment.copy(src, LE_FLOAT, 0, keys[layer], base, run);
        MemorySegment.copy(src, LE_FLOAT, (long) run * Float.BYTES, values[layer], base, run);
    }

    // No layerViews: a view of a float[] is not a byte[]-backed buffer, which the protobuf sender needs; a sender
    // copies a layer out instead (readBlockLayer). A receiver writes into these views directly.
    @Override
    public MemorySegment[] writableLayerViews(int block, int layer) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return null;
        }
        int run = kvHeads * blockSize * headDim;
        long base = (long) blockBase(block, 0) * Float.BYTES;
        return new MemorySegment[] {
            MemorySegment.ofArray(keys[layer]).asSlice(base, (long) run * Float.BYTES),
            MemorySegment.ofArray(values[layer]).asSlice(base, (long) run * Float.BYTES)
        };
    }

    private void checkLayer(int block, int layer, MemorySegment segment, int run) {
        if (block < 0 || block >= blocks || layer < 0 || layer >= keys.length) {
            throw new IndexOutOfBoundsException("block " + block + " layer " + layer);
        }
        if (segment.byteSize() < 2L * run * Float.BYTES) {
            throw new IllegalArgumentException(
                    "a block layer is " + 2L * run * Float.BYTES + " bytes; the segment has " + segment.byteSize());
        }
    }

    private void checkBlock(int block, MemorySegment segment) {
        if (block < 0 || block >= blocks) {
            throw new IndexOutOfBoundsException("block " + block + " of " + blocks);
        }
        if (segment.byteSize() < layout.bytesPerBlock()) {
            throw new IllegalArgumentException(
                    "a block is " + layout.bytesPerBlock() + " bytes; the segment has " + segment.byteSize());
        }
    }

    /** Offset of KV head 0 of position {@code pos} in a layer array, for a sequence whose block table is {@code table}. */
    int offset(int[] table, int pos) {
        return blockBase(table[pos / blockSize], 0) + pos % blockSize * headDim;
    }

    /** Offset of slot 0 of KV head {@code head} in block {@code block}; the block's slots follow {@code headDim} apart. */
    int blockBase(int block, int head) {
        return (block * kvHeads + head) * blockSize * headDim;
    }

    /** Stores the vector of every KV head ({@code vec}, heads one after another) at a position's {@code offset}. */
    void write(float[] layer, int offset, float[] vec) {
        int headStride = blockSize * headDim;
        for (int h = 0; h < kvHeads; h++) {
            System.arraycopy(vec, h * headDim, layer, offset + h * headStride, headDim);
        }
    }

    static long bytesPerBlock(int layers, int blockSize, int kvDim) {
        return 2L * layers * blockSize * kvDim * Float.BYTES;
    }
}
