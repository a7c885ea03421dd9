package dev.tandem.engine.model;

/**
 * A weight matrix of {@code rows × cols} (row-major: one row per output). Implementations differ in how weights are
 * stored (f32, bf16, int8); all compute in f32. Immutable and thread-safe.
 */
public interface Matrix {

    int rows();

    int cols();

    /** {@code out[r] = Σ_c W[r][c] · x[c]} for rows [from, to). */
    void matVec(float[] x, float[] out, int from, int to);

    /**
     * {@code outs[t][r] = Σ_c W[r][c] · xs[t][c]} for tokens t in [0, n) and rows [from, to): every weight row is
     * read once for all n tokens, which is what makes batched decode and chunked prefill cheaper than n products.
     */
    default void matMul(float[][] xs, float[][] outs, int n, int from, int to) {
        for (int t = 0; t < n; t++) {
            float[] out = outs[t];
            matVec(xs[t], out, from, to);
        }
    }

    /** Bytes the weights occupy (and a full product reads). */
    long bytes();

    /** One row as f32 (embedding lookups). */
    void row(int r, float[] out);
}
