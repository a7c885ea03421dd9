package dev.tandem.engine.model;

/**
 * Weights packed in panels of {@code P} rows, P the lanes of the kernels' f32 vectors: element (r, k) lies at
 * {@code ((r / P) · cols + k) · P + r % P}, so column k of a panel is one vector (after widening, for a compact
 * type). A product then accumulates a whole vector of outputs (rows) at once, {@code acc += W[panel][k] ·
 * broadcast(x[k])}, with no horizontal sum at the end, and a register tile of two panels by four tokens loads two
 * weight vectors and four scalars for eight multiply-adds. Rows past the last multiple of P are zero padding.
 *
 * <p>Every output is one chain of fused multiply-adds over k in order, from zero, whichever kernel computes it: a
 * single token's product (decode), a tile of a batched one, and across the k-blocks of a long row, where the tile
 * stores its accumulators and reloads them (exact for f32). So a token's output is bit for bit the same alone or in
 * a batch of any size (batch invariance), and the order is the one llama2.c's scalar loop uses.
 *
 * <p>This class walks the panels and tokens; subclasses hold the weights and the kernels, which differ only in how a
 * panel column becomes an f32 vector. The Vector API gives no way to share that step without a call that passes or
 * returns a vector, which C2 boxes when it does not inline it.
 *
 * <p>Batched products walk panel pairs, and for each pair every group of four tokens, broadcasting the tokens'
 * elements straight from their arrays (packing them first cost as much as a small row range's products when the
 * compute team split a matrix into claims); k runs in blocks of {@link #KC}, so a pair's block stays in L2 while
 * every token group reads it. Measured single-threaded (f32, the 110M shape, 64 tokens): 90–106 GFLOP/s of a 117
 * GFLOP/s FMA peak, against 78–97 for the dot-product kernel it replaced; blocks of 256 or 512 were slower here (the
 * accumulators' round trip through memory per block), blocks of 2,048 no faster. Four tokens per tile, because eight
 * accumulators hide the multiply-add latency on one- and two-FMA-port cores and leave registers to spare on AVX2.
 */
abstract class PanelMatrix implements Matrix {

    /** Tokens per register tile. */
    static final int T = 4;
    /** k per block of a batched product (cache blocking, sized by measurement). */
    static final int KC = 1024;

    /**
     * The kernels' accumulators between a tile and its copy to the outputs, per thread: a product runs a few hundred
     * times per decode step, so a fresh array each time was a steady stream of garbage.
     */
    private static final ThreadLocal<float[]> ACCUMULATORS = ThreadLocal.withInitial(() -> new float[0]);

    /** Rows per panel: the lanes of the kernels' f32 vectors. */
    final int P;

    final int rows;
    final int cols;

    PanelMatrix(int rows, int cols, int panelRows) {
        this.rows = rows;
        this.cols = cols;
        this.P = panelRows;
    }

    /** Elements of the packed array for {@code rows × cols} (whole panels), checked against the array limit. */
    static int packedLength(int rows, int cols, int p) {
        long n = (long) ((rows + p - 1) / p) * p * cols;
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(rows + "x" + cols + " is too large for one array");
        }
        return (int) n;
    }

    /** Where element (r, 0) of the packed array lies; element (r, k) is {@code P · k} further. */
    final int offset(int r) {
        return r / P * P * cols + r % P;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    private static float[] accumulators(int n) {
        float[] a = ACCUMULATORS.get();
        if (a.length < n) {
            a = new float[n];
            ACCUMULATORS.set(a);
        }
        return a;
    }

    /** One panel against one token into {@code acc[0, P)}. */
    abstract void panel1(float[] x, int p, float[] acc);

    /** Panels p..p + 3 against one token into {@code acc[0, 4P)}: four independent chains. */
    abstract void panels4(float[] x, int p, float[] acc);

    /**
     * Panels p..p + 7 against one token into {@code acc[0, 8P)}: eight chains, each loaded weight vector used once (a
     * single token's product is bound by reading the weights). Eight streams read ~15% more per second than four or
     * than one row after another, single-threaded over 250 MB of f32 weights on this machine.
     */
    abstract void panels8(float[] x, int p, float[] acc);

    /**
     * Panels p and p + 1 by four tokens over columns [kb, kb + kc): eight accumulators, from zero or from {@code acc},
     * and back into {@code acc} (see {@link #matMul} for its layout).
     */
    abstract void tile2x4(
            int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero);

    /** One panel by four tokens (as {@link #tile2x4}; panel 0 of each token's pair in {@code acc}). */
    abstract void tile1x4(
            int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero);

    /**
     * Copies {@code count} panels of outputs from {@code acc[at..]} (P floats per panel, starting at row {@code r0})
     * into {@code out}, only the rows in [from, to): other threads own the rest. The kernels never pass vectors to a
     * method or return them (C2 then boxes a vector per call, and one such call left inside a loop made a product 20×
     * slower), so they keep their accumulators in {@code acc} and these copies are plain arrays.
     */
    private void scatter(float[] acc, int at, int count, float[] out, int r0, int from, int to) {
        int lo = Math.max(r0, from);
        int hi = Math.min(r0 + count * P, to);
        if (lo < hi) {
            System.arraycopy(acc, at + lo - r0, out, lo, hi - lo);
        }
    }

    /** The reverse of {@link #scatter}: the outputs so far, zero for rows outside [from, to). */
    private void gather(float[] out, int r0, int count, int from, int to, float[] acc, int at) {
        int lo = Math.max(r0, from);
        int hi = Math.min(r0 + count * P, to);
        java.util.Arrays.fill(acc, at, at + count * P, 0f);
        if (lo < hi) {
            System.arraycopy(out, lo, acc, at + lo - r0, hi - lo);
        }
    }

    @Override
    public final void matVec(float[] x, float[] out, int from, int to) {
        int p = from / P;
        int end = (to + P - 1) / P;
        float[] acc = accumulators(8 * P);
        for (; p + 8 <= end; p += 8) {
            panels8(x, p, acc);
            scatter(acc, 0, 8, out, p * P, from, to);
        }
        for (; p + 4 <= end; p += 4) {
            panels4(x, p, acc);
            scatter(acc, 0, 4, out, p * P, from, to);
        }
        for (; p < end; p++) {
            panel1(x, p, acc);
            scatter(acc, 0, 1, out, p * P, from, to);
        }
    }

    @Override
    public final void matMul(float[][] xs, float[][] outs, int n, int from, int to) {
        if (n == 1) {
            matVec(xs[0], outs[0], from, to);
            return;
        }
        // acc[(i · 2 + j) · P + lane]: token i of the group, panel j of the pair.
        float[] acc = accumulators(2 * T * P);
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
}
