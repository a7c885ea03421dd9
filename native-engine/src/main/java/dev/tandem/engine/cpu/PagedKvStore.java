package dev.tandem.engine.cpu;

import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The KV tensors behind the block manager's block ids: per layer, one f32 array of {@code blocks × kvHeads ×
 * blockSize × headDim} keys and one of values. Position p of a sequence lives in block {@code table[p /
 * blockSize]}, slot {@code p % blockSize}; within a block each KV head's part is one contiguous run, so attention
 * over one head reads it as one run per block. (Position-major blocks put one head's vectors a whole kvDim apart:
 * attention then read 256-byte pieces at a 3 KiB stride, which the hardware prefetchers do not follow, and a decode
 * position at context 600 cost ~7 µs instead of the ~1.5 µs its bytes take.)
 *
 * <p>Within a head's run, values are slot-major ({@code [slot][d]}) and keys are transposed ({@code [d][slot]}): the
 * scores of a query against consecutive slots are then a vector of multiply-adds with no horizontal sum (see
 * {@link AttentionKernels}). The bytes that leave the store ({@link KvBlockStore}, the {@link KvLayout} contract) are
 * slot-major for both, so keys are transposed on the way in and out: a block moves as {@code 2 × layers} runs, the
 * keys through a scratch buffer. Owned by the engine thread; connectors reach it as a {@link KvBlockStore}.
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
    /**
     * One layer's keys of one block, for transposing them in and out; per thread, since connectors' senders and
     * receivers may copy blocks concurrently.
     */
    private final ThreadLocal<float[]> scratch;

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
        this.scratch = ThreadLocal.withInitial(() -> new float[kvHeads * blockSize * headDim]);
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
            MemorySegment.copy(keysOut(l, base), 0, dst, LE_FLOAT, at, run);
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
            float[] t = scratch.get();
            MemorySegment.copy(src, LE_FLOAT, at, t, 0, run);
            keysIn(l, base, t);
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
        MemorySegment.copy(keysOut(layer, base), 0, dst, LE_FLOAT, 0, run);
        MemorySegment.copy(values[layer], base, dst, LE_FLOAT, (long) run * Float.BYTES, run);
    }

    @Override
    public void writeBlockLayer(int block, int layer, MemorySegment src) {
        int run = kvHeads * blockSize * headDim;
        checkLayer(block, layer, src, run);
        int base = blockBase(block, 0);
        float[] t = scratch.get();
        MemorySegment.copy(src, LE_FLOAT, 0, t, 0, run);
        keysIn(layer, base, t);
        MemorySegment.copy(src, LE_FLOAT, (long) run * Float.BYTES, values[layer], base, run);
    }

    // No layerViews and no writableLayerViews: a view of a float[] is not a byte[]-backed buffer, which the protobuf
    // sender needs, and the keys are not stored in the bytes' order; senders and receivers copy a layer through
    // readBlockLayer and writeBlockLayer.

    /** A layer's keys of the block at {@code base} in the wire order ([head][slot][d]), in the scratch buffer. */
    private float[] keysOut(int layer, int base) {
        float[] k = keys[layer];
        float[] t = scratch.get();
        int bs = blockSize;
        for (int h = 0, o = 0; h < kvHeads; h++) {
            int hb = base + h * bs * headDim;
            for (int slot = 0; slot < bs; slot++) {
                for (int d = 0; d < headDim; d++) {
                    t[o++] = k[hb + d * bs + slot];
                }
            }
        }
        return t;
    }

    /** Stores keys in the wire order from the scratch buffer into the block at {@code base}, transposed. */
    private void keysIn(int layer, int base, float[] t) {
        float[] k = keys[layer];
        int bs = blockSize;
        for (int h = 0, o = 0; h < kvHeads; h++) {
            int hb = base + h * bs * headDim;
            for (int slot = 0; slot < bs; slot++) {
                for (int d = 0; d < headDim; d++) {
                    k[hb + d * bs + slot] = t[o++];
                }
            }
        }
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

    /**
     * Offset of KV head {@code head}'s run in block {@code block}: its values' slots follow {@code headDim} apart,
     * its keys' rows {@code blockSize} apart.
     */
    int blockBase(int block, int head) {
        return (block * kvHeads + head) * blockSize * headDim;
    }

    /** Stores the key of every KV head ({@code vec}, heads one after another) at position {@code pos}. */
    void writeKey(int layer, int[] table, int pos, float[] vec) {
        float[] k = keys[layer];
        int slot = pos % blockSize;
        int base = blockBase(table[pos / blockSize], 0) + slot;
        int headStride = blockSize * headDim;
        for (int h = 0; h < kvHeads; h++) {
            int at = base + h * headStride;
            for (int d = 0, i = h * headDim; d < headDim; d++, i++, at += blockSize) {
                k[at] = vec[i];
            }
        }
    }

    /** Stores the value of every KV head ({@code vec}, heads one after another) at position {@code pos}. */
    void writeValue(int layer, int[] table, int pos, float[] vec) {
        int offset = blockBase(table[pos / blockSize], 0) + pos % blockSize * headDim;
        int headStride = blockSize * headDim;
        for (int h = 0; h < kvHeads; h++) {
            System.arraycopy(vec, h * headDim, values[layer], offset + h * headStride, headDim);
        }
    }

    static long bytesPerBlock(int layers, int blockSize, int kvDim) {
        return 2L * layers * blockSize * kvDim * Float.BYTES;
    }
}
