package dev.tandem.engine.model;

import dev.tandem.engine.cpu.VectorOps;

/**
 * Products of row-major f32 rows with many tokens, each output a {@link VectorOps#dotOrdered} of its row and token:
 * the batched path of the compact weight types over rows widened to f32 ({@link WidenedRows}), whose one-token
 * products take the same order.
 */
final class RowProducts {

    private RowProducts() {}

    /**
     * Up to four rows stored one after another at {@code w[base]} times every token:
     * {@code outs[t][outRow + k] = Σ_c w[base + k·cols + c] · xs[t][c]} for k below {@code count}, t below n. Four
     * whole-vector rows by four tokens at a time take the sixteen-accumulator kernel; the rest fall back to one row
     * by four tokens, then one by one. Also the batched path of the compact types, over rows widened to f32.
     * {@code acc} is scratch of at least 16 floats.
     */
    static void products(
            float[] w, int base, int cols, int count, float[][] xs, float[][] outs, int n, int outRow, float[] acc) {
        int quads = n / 4 * 4;
        int t = 0;
        if (count == 4 && cols % VectorOps.lanes() == 0) {
            for (; t < quads; t += 4) {
                VectorOps.dot4x4(
                        w,
                        base,
                        base + cols,
                        base + 2 * cols,
                        base + 3 * cols,
                        xs[t],
                        xs[t + 1],
                        xs[t + 2],
                        xs[t + 3],
                        cols,
                        acc);
                for (int k = 0; k < 4; k++) {
                    outs[t][outRow + k] = acc[4 * k];
                    outs[t + 1][outRow + k] = acc[4 * k + 1];
                    outs[t + 2][outRow + k] = acc[4 * k + 2];
                    outs[t + 3][outRow + k] = acc[4 * k + 3];
                }
            }
        }
        for (int k = 0; k < count; k++) {
            int wo = base + k * cols;
            int r = outRow + k;
            int u = t;
            for (; u < quads; u += 4) {
                VectorOps.dot4(w, wo, xs[u], xs[u + 1], xs[u + 2], xs[u + 3], cols, acc);
                outs[u][r] = acc[0];
                outs[u + 1][r] = acc[1];
                outs[u + 2][r] = acc[2];
                outs[u + 3][r] = acc[3];
            }
            for (; u < n; u++) {
                outs[u][r] = VectorOps.dotOrdered(w, wo, xs[u], 0, cols);
            }
        }
    }
}
