package dev.tandem.engine.cpu;

/**
 * The KV tensors behind the block manager's block ids: per layer, one f32 array of {@code blocks × blockSize ×
 * kvDim} keys and one of values. Position p of a sequence lives in block {@code table[p / blockSize]}, slot
 * {@code p % blockSize}. Owned by the engine thread.
 */
final class PagedKvStore {

    final float[][] keys;
    final float[][] values;
    final int blockSize;
    final int kvDim;

    PagedKvStore(int layers, int blocks, int blockSize, int kvDim) {
        long floats = (long) blocks * blockSize * kvDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV store of " + blocks + " blocks is too large for one array per"
                    + " layer; use fewer --kv-blocks");
        }
        this.keys = new float[layers][(int) floats];
        this.values = new float[layers][(int) floats];
        this.blockSize = blockSize;
        this.kvDim = kvDim;
    }

    /** Offset of position {@code pos} in a layer array, for a sequence whose block table is {@code table}. */
    int offset(int[] table, int pos) {
        return (table[pos / blockSize] * blockSize + pos % blockSize) * kvDim;
    }

    static long bytesPerBlock(int layers, int blockSize, int kvDim) {
        return 2L * layers * blockSize * kvDim * Float.BYTES;
    }
}
