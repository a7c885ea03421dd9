package dev.tandem.engine.model;

/**
 * The batched product of a matrix stored in a compact type (bf16, int8): each group of four rows is widened to f32
 * once, into a per-thread scratch, and then multiplied with every token by the f32 kernels. Widening is paid once
 * per row instead of once per row and token, so a batch costs about what it costs in f32 (the products are bound
 * by the multiply-add units then) while a single token still reads the compact weights directly.
 */
final class WidenedRows {

    /** Writes row {@code r} as f32 into {@code dst[off, off + cols)}. */
    interface Decoder {
        void decode(int r, float[] dst, int off);
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private WidenedRows() {}

    static void matMul(int cols, Decoder decoder, float[][] xs, float[][] outs, int n, int from, int to) {
        float[] scratch = SCRATCH.get();
        if (scratch.length < 4 * cols) {
            scratch = new float[4 * cols];
            SCRATCH.set(scratch);
        }
        float[] acc = new float[16];
        for (int r = from; r < to; r += 4) {
            int count = Math.min(4, to - r);
            for (int k = 0; k < count; k++) {
                decoder.decode(r + k, scratch, k * cols);
            }
            F32Matrix.products(scratch, 0, cols, count, xs, outs, n, r, acc);
        }
    }
}
