package dev.tandem.engine.cpu;

/**
 * The KV tensors behind the block manager's block ids: per layer, one f32 array of {@code blocks × kvHeads ×
 * blockSize × headDim} keys and one of values. Position p of a sequence lives in block {@code table[p /
 * blockSize]}, slot {@code p % blockSize}; within a block each KV head's slots lie one after another, so attention
 * over one head reads its keys and values as a contiguous run per block. (Position-major blocks put one head's
 * vectors a whole kvDim apart: attention then read 256-byte pieces at a 3 KiB stride, which the hardware prefetchers
 * do not follow, and a decode position at context 600 cost ~7 µs instead of the ~1.5 µs its bytes take.) Owned by
 * the engine thread.
 */
final class PagedKvStore {

    final float[][] keys;
    final float[][] values;
    final int blockSize;
    final int kvHeads;
    final int headDim;

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
