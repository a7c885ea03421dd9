package dev.tandem.engine.model;

/**
 * A matrix stored in a compact type (bf16, int8) whose batched product widens each group of four rows to f32 once,
 * into a per-thread scratch, and then multiplies them with every token by the f32 kernels. Widening is paid once per
 * row instead of once per row and token, so a batch costs about what it costs in f32 (the products are bound by the
 * multiply-add units then) while a single token still reads the compact weights directly ({@link #matVec}).
 */
interface WidenedRows extends Matrix {

    /** Writes row {@code r} as f32 into {@code dst[off, off + cols)}. */
    void decode(int r, float[] dst, int off);

    ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    @Override
    default void matMul(float[][] xs, float[][] outs, int n, int from, int to) {
        if (n == 1) {
            matVec(xs[0], outs[0], from, to);
            return;
        }
        int cols = cols();
        float[] scratch = SCRATCH.get();
        if (scratch.length < 4 * cols) {
            scratch = new float[4 * cols];
            SCRATCH.set(scratch);
        }
        float[] acc = new float[16];
        for (int r = from; r < to; r += 4) {
            int count = Math.min(4, to - r);
            for (int k = 0; k < count; k++) {
                decode(r + k, scratch, k * cols);
            }
            RowProducts.products(scratch, 0, cols, count, xs, outs, n, r, acc);
        }
    }

    @Override
    default void row(int r, float[] out) {
        decode(r, out, 0);
    }
}
