package dev.tandem.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * f32 weights packed in panels of {@code P} rows, P the lanes of the preferred vector species: element (r, k) lies
 * at {@code ((r / P) · cols + k) · P + r % P}, so column k of a panel is one vector. A product then accumulates a
 * whole vector of outputs (rows) at once, {@code acc += W[panel][k] · broadcast(x[k])}, with no horizontal sum at the
 * end, and a register tile of two panels by four tokens loads two weight vectors and four scalars for eight
 * multiply-adds. Rows past the last multiple of P are zero padding.
 *
 * <p>Every output is one chain of fused multiply-adds over k in order, from zero, whichever kernel computes it: a
 * single token's product (decode), a tile of a batched one, and across the k-blocks of a long row, where the tile
 * stores its accumulators and reloads them (exact for f32). So a token's output is bit for bit the same alone or in
 * a batch of any size (batch invariance), and the order is the one llama2.c's scalar loop uses.
 *
 * <p>Batched products walk panel pairs, and for each pair every group of four tokens, broadcasting the tokens'
 * elements straight from their arrays (packing them first cost as much as a small row range's products when the
 * compute team split a matrix into claims); k runs in blocks of {@link #KC}, so a pair's block (128 KiB) stays in L2
 * while every token group reads it. Measured single-threaded on the 110M shape at 64 tokens: 90–106 GFLOP/s of a
 * 117 GFLOP/s FMA peak, against 78–97 for the dot-product kernel it replaced; blocks of 256 or 512 were slower here
 * (the accumulators' round trip through memory per block), blocks of 2,048 no faster. Four tokens per tile, because
 * eight accumulators hide the multiply-add latency on one- and two-FMA-port cores and leave registers to spare on
 * AVX2.
 */
public final class F32Matrix implements Matrix {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int P = S.length();
    /** Tokens per register tile. */
    private static final int T = 4;
    /** k per block of a batched product (cache blocking, sized by measurement). */
    static final int KC = 1024;

    private final float[] w;
    private final int rows;
    private final int cols;

    /** Packs row-major {@code w} ({@code rows × cols}); {@code w} itself is not kept. */
    public F32Matrix(float[] w, int rows, int cols) {
        if ((long) rows * cols != w.length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix from " + w.length + " floats");
        }
        int panels = (rows + P - 1) / P;
        if ((long) panels * P * cols > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(rows + "x" + cols + " is too large for one f32 array");
        }
        this.w = new float[panels * P * cols];
        this.rows = rows;
        this.cols = cols;
        for (int r = 0; r < rows; r++) {
            int base = r / P * P * cols + r % P;
            for (int k = 0, src = r * cols; k < cols; k++) {
                this.w[base + k * P] = w[src + k];
            }
        }
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
    public long bytes() {
        return (long) rows * cols * Float.BYTES;
    }

    @Override
    public void row(int r, float[] out) {
        int base = r / P * P * cols + r % P;
        for (int k = 0; k < cols; k++) {
            out[k] = w[base + k * P];
        }
    }

    /**
     * Copies {@code count} panels of outputs from {@code acc[at..]} (P floats per panel, starting at row {@code r0})
     * into {@code out}, only the rows in [from, to): other threads own the rest. The kernels never pass vectors to a
     * method or return them (C2 then boxes a vector per call, and one such call left inside a loop made a product 20×
     * slower), so they keep their accumulators in {@code acc} and these copies are plain arrays.
     */
    private static void scatter(float[] acc, int at, int count, float[] out, int r0, int from, int to) {
        int lo = Math.max(r0, from);
        int hi = Math.min(r0 + count * P, to);
        if (lo < hi) {
            System.arraycopy(acc, at + lo - r0, out, lo, hi - lo);
        }
    }

    /** The reverse of {@link #scatter}: the outputs so far, zero for rows outside [from, to). */
    private static void gather(float[] out, int r0, int count, int from, int to, float[] acc, int at) {
        int lo = Math.max(r0, from);
        int hi = Math.min(r0 + count * P, to);
        java.util.Arrays.fill(acc, at, at + count * P, 0f);
        if (lo < hi) {
            System.arraycopy(out, lo, acc, at + lo - r0, hi - lo);
        }
    }

    @Override
    public void matVec(float[] x, float[] out, int from, int to) {
        int p = from / P;
        int end = (to + P - 1) / P;
        float[] acc = new float[8 * P];
        for (; p + 8 <= end; p += 8) {
            panels8(x, p, acc);
            scatter(acc, 0, 8, out, p * P, from, to);
        }
        for (; p + 4 <= end; p += 4) {
            panels4(x, p, acc);
            scatter(acc, 0, 4, out, p * P, from, to);
        }
        for (; p < end; p++) {
            int base = p * P * cols;
            FloatVector a = FloatVector.zero(S);
            for (int k = 0; k < cols; k++) {
                a = FloatVector.fromArray(S, w, base + k * P).fma(FloatVector.broadcast(S, x[k]), a);
            }
            a.intoArray(acc, 0);
            scatter(acc, 0, 1, out, p * P, from, to);
        }
    }

    /**
     * Panels p..p + 7 against one token into {@code acc}: eight chains, each loaded weight vector used once (a single
     * token's product is bound by reading the weights). Eight streams read ~15% more per second than four or than
     * one row after another, single-threaded over 250 MB of weights on this machine.
     */
    private void panels8(float[] x, int p, float[] acc) {
        int st = P * cols;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        for (int k = 0, o = p * st; k < cols; k++, o += P) {
            FloatVector xk = FloatVector.broadcast(S, x[k]);
            a0 = FloatVector.fromArray(S, w, o).fma(xk, a0);
            a1 = FloatVector.fromArray(S, w, o + st).fma(xk, a1);
            a2 = FloatVector.fromArray(S, w, o + 2 * st).fma(xk, a2);
            a3 = FloatVector.fromArray(S, w, o + 3 * st).fma(xk, a3);
            a4 = FloatVector.fromArray(S, w, o + 4 * st).fma(xk, a4);
            a5 = FloatVector.fromArray(S, w, o + 5 * st).fma(xk, a5);
            a6 = FloatVector.fromArray(S, w, o + 6 * st).fma(xk, a6);
            a7 = FloatVector.fromArray(S, w, o + 7 * st).fma(xk, a7);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, P);
        a2.intoArray(acc, 2 * P);
        a3.intoArray(acc, 3 * P);
        a4.intoArray(acc, 4 * P);
        a5.intoArray(acc, 5 * P);
        a6.intoArray(acc, 6 * P);
        a7.intoArray(acc, 7 * P);
    }

    /** Panels p..p + 3 against one token into {@code acc}: four independent chains. */
    private void panels4(float[] x, int p, float[] acc) {
        int b0 = p * P * cols;
        int b1 = b0 + P * cols;
        int b2 = b1 + P * cols;
        int b3 = b2 + P * cols;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int k = 0, o = 0; k < cols; k++, o += P) {
            FloatVector xk = FloatVector.broadcast(S, x[k]);
            a0 = FloatVector.fromArray(S, w, b0 + o).fma(xk, a0);
            a1 = FloatVector.fromArray(S, w, b1 + o).fma(xk, a1);
            a2 = FloatVector.fromArray(S, w, b2 + o).fma(xk, a2);
            a3 = FloatVector.fromArray(S, w, b3 + o).fma(xk, a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, P);
        a2.intoArray(acc, 2 * P);
        a3.intoArray(acc, 3 * P);
    }

    @Override
    public void matMul(float[][] xs, float[][] outs, int n, int from, int to) {
        if (n == 1) {
            matVec(xs[0], outs[0], from, to);
            return;
        }
        // acc[(i · 2 + j) · P + lane]: token i of the group, panel j of the pair.
        float[] acc = new float[2 * T * P];
        int first = from / P;
        int end = (to + P - 1) / P;
        for (int kb = 0; kb < cols; kb += KC) {
            int kc = Math.min(KC, cols - kb);
            for (int p = first; p < end; p += 2) {
                int panels = Math.min(2, end - p);
                int r0 = p * P;
                for (int t = 0; t < n; t += T) {
                    int tokens = Math.min(T, n - t);
                    if (kb > 0) {
                        for (int i = 0; i < tokens; i++) {
                            gather(outs[t + i], r0, panels, from, to, acc, i * 2 * P);
                        }
                    }
                    // A group short of four tokens repeats its last; those outputs are not stored.
                    float[] x0 = xs[t];
                    float[] x1 = xs[Math.min(t + 1, n - 1)];
                    float[] x2 = xs[Math.min(t + 2, n - 1)];
                    float[] x3 = xs[Math.min(t + 3, n - 1)];
                    if (panels == 2) {
                        tile2x4(p, kb, kc, x0, x1, x2, x3, acc, kb == 0);
                    } else {
                        tile1x4(p, kb, kc, x0, x1, x2, x3, acc, kb == 0);
                    }
                    for (int i = 0; i < tokens; i++) {
                        scatter(acc, i * 2 * P, panels, outs[t + i], r0, from, to);
                    }
                }
            }
        }
    }

    /**
     * Panels p and p + 1 by four tokens over columns [kb, kb + kc): eight accumulators, from zero or from {@code acc},
     * and back into {@code acc} (see {@link #matMul} for its layout).
     */
    private void tile2x4(
            int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        FloatVector a2 = a0;
        FloatVector b2 = a0;
        FloatVector a3 = a0;
        FloatVector b3 = a0;
        if (!zero) {
            a0 = FloatVector.fromArray(S, acc, 0);
            b0 = FloatVector.fromArray(S, acc, P);
            a1 = FloatVector.fromArray(S, acc, 2 * P);
            b1 = FloatVector.fromArray(S, acc, 3 * P);
            a2 = FloatVector.fromArray(S, acc, 4 * P);
            b2 = FloatVector.fromArray(S, acc, 5 * P);
            a3 = FloatVector.fromArray(S, acc, 6 * P);
            b3 = FloatVector.fromArray(S, acc, 7 * P);
        }
        int w0 = (p * cols + kb) * P;
        int w1 = w0 + cols * P;
        for (int k = kb, o = 0, end = kb + kc; k < end; k++, o += P) {
            FloatVector u = FloatVector.fromArray(S, w, w0 + o);
            FloatVector v = FloatVector.fromArray(S, w, w1 + o);
            FloatVector s0 = FloatVector.broadcast(S, x0[k]);
            a0 = u.fma(s0, a0);
            b0 = v.fma(s0, b0);
            FloatVector s1 = FloatVector.broadcast(S, x1[k]);
            a1 = u.fma(s1, a1);
            b1 = v.fma(s1, b1);
            FloatVector s2 = FloatVector.broadcast(S, x2[k]);
            a2 = u.fma(s2, a2);
            b2 = v.fma(s2, b2);
            FloatVector s3 = FloatVector.broadcast(S, x3[k]);
            a3 = u.fma(s3, a3);
            b3 = v.fma(s3, b3);
        }
        a0.intoArray(acc, 0);
        b0.intoArray(acc, P);
        a1.intoArray(acc, 2 * P);
        b1.intoArray(acc, 3 * P);
        a2.intoArray(acc, 4 * P);
        b2.intoArray(acc, 5 * P);
        a3.intoArray(acc, 6 * P);
        b3.intoArray(acc, 7 * P);
    }

    /** One panel by four tokens (as {@link #tile2x4}; panel 0 of each token's pair in {@code acc}). */
    private void tile1x4(
            int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        if (!zero) {
            a0 = FloatVector.fromArray(S, acc, 0);
            a1 = FloatVector.fromArray(S, acc, 2 * P);
            a2 = FloatVector.fromArray(S, acc, 4 * P);
            a3 = FloatVector.fromArray(S, acc, 6 * P);
        }
        int w0 = (p * cols + kb) * P;
        for (int k = kb, o = 0, end = kb + kc; k < end; k++, o += P) {
            FloatVector u = FloatVector.fromArray(S, w, w0 + o);
            a0 = u.fma(FloatVector.broadcast(S, x0[k]), a0);
            a1 = u.fma(FloatVector.broadcast(S, x1[k]), a1);
            a2 = u.fma(FloatVector.broadcast(S, x2[k]), a2);
            a3 = u.fma(FloatVector.broadcast(S, x3[k]), a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, 2 * P);
        a2.intoArray(acc, 4 * P);
        a3.intoArray(acc, 6 * P);
    }
}
