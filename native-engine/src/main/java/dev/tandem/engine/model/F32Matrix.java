package dev.tandem.engine.model;

import dev.tandem.engine.cpu.VectorOps;

/** f32 weights in one heap array, row-major. */
public final class F32Matrix implements Matrix {

    private final float[] w;
    private final int rows;
    private final int cols;

    public F32Matrix(float[] w, int rows, int cols) {
        if ((long) rows * cols != w.length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix from " + w.length + " floats");
        }
        this.w = w;
        this.rows = rows;
        this.cols = cols;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public void matVec(float[] x, float[] out, int from, int to) {
        for (int r = from; r < to; r++) {
            out[r] = VectorOps.dot(w, r * cols, x, 0, cols);
        }
    }

    @Override
    public void matMul(float[][] xs, float[][] outs, int n, int from, int to) {
        if (n == 1) {
            matVec(xs[0], outs[0], from, to);
            return;
        }
        float[] acc8 = new float[8];
        int r0 = from;
        int fullTokens = n / 4 * 4;
        if (fullTokens > 0 && cols % VectorOps.lanes() == 0) {
            // Four rows by four tokens: sixteen independent products per pass over the columns.
            float[] acc16 = new float[16];
            for (; r0 + 4 <= to; r0 += 4) {
                int wa = r0 * cols;
                for (int t = 0; t < fullTokens; t += 4) {
                    VectorOps.dot4x4(
                            w,
                            wa,
                            wa + cols,
                            wa + 2 * cols,
                            wa + 3 * cols,
                            xs[t],
                            xs[t + 1],
                            xs[t + 2],
                            xs[t + 3],
                            cols,
                            acc16);
                    for (int k = 0; k < 4; k++) {
                        outs[t][r0 + k] = acc16[4 * k];
                        outs[t + 1][r0 + k] = acc16[4 * k + 1];
                        outs[t + 2][r0 + k] = acc16[4 * k + 2];
                        outs[t + 3][r0 + k] = acc16[4 * k + 3];
                    }
                }
                for (int t = fullTokens; t < n; t++) {
                    for (int k = 0; k < 4; k++) {
                        outs[t][r0 + k] = VectorOps.dot(w, wa + k * cols, xs[t], 0, cols);
                    }
                }
            }
        }
        if (fullTokens > 0) {
            // Pairs of rows by groups of four tokens: each weight vector loaded once feeds four products.
            for (; r0 + 2 <= to; r0 += 2) {
                int wa = r0 * cols;
                int wb = wa + cols;
                for (int t = 0; t < fullTokens; t += 4) {
                    VectorOps.dot2x4(w, wa, wb, xs[t], xs[t + 1], xs[t + 2], xs[t + 3], cols, acc8);
                    outs[t][r0] = acc8[0];
                    outs[t][r0 + 1] = acc8[1];
                    outs[t + 1][r0] = acc8[2];
                    outs[t + 1][r0 + 1] = acc8[3];
                    outs[t + 2][r0] = acc8[4];
                    outs[t + 2][r0 + 1] = acc8[5];
                    outs[t + 3][r0] = acc8[6];
                    outs[t + 3][r0 + 1] = acc8[7];
                }
                for (int t = fullTokens; t < n; t++) {
                    outs[t][r0] = VectorOps.dot(w, wa, xs[t], 0, cols);
                    outs[t][r0 + 1] = VectorOps.dot(w, wb, xs[t], 0, cols);
                }
            }
        }
        float[] acc = new float[4];
        for (int r = r0; r < to; r++) {
            int wo = r * cols;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                VectorOps.dot4(w, wo, xs[t], xs[t + 1], xs[t + 2], xs[t + 3], cols, acc);
                outs[t][r] = acc[0];
                outs[t + 1][r] = acc[1];
                outs[t + 2][r] = acc[2];
                outs[t + 3][r] = acc[3];
            }
            for (; t < n; t++) {
                outs[t][r] = VectorOps.dot(w, wo, xs[t], 0, cols);
            }
        }
    }

    @Override
    public void row(int r, float[] out) {
        System.arraycopy(w, r * cols, out, 0, cols);
    }

    /** The backing array (not copied). */
    public float[] data() {
        return w;
    }
}
