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

    /** One row as f32 (embedding lookups). */
    void row(int r, float[] out);
}
