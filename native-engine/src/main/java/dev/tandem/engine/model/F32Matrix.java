package dev.tandem.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** f32 weights in panels of one preferred-species vector of rows ({@link PanelMatrix}). */
public final class F32Matrix extends PanelMatrix {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private final float[] w;

    /** Packs row-major {@code w} ({@code rows × cols}); {@code w} itself is not kept. */
    public F32Matrix(float[] w, int rows, int cols) {
        super(rows, cols, S.length());
        if ((long) rows * cols != w.length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix from " + w.length + " floats");
        }
        this.w = new float[packedLength(rows, cols, P)];
        for (int r = 0; r < rows; r++) {
            int base = offset(r);
            for (int k = 0, src = r * cols; k < cols; k++) {
                this.w[base + k * P] = w[src + k];
            }
        }
    }

    @Override
    public long bytes() {
        return (long) rows * cols * Float.BYTES;
    }

    @Override
    public void row(int r, float[] out) {
        int base = offset(r);
        for (int k = 0; k < cols; k++) {
            out[k] = w[base + k * P];
        }
    }

    @Override
    void panel1(float[] x, int p, float[] acc) {
        int base = p * P * cols;
        FloatVector a = FloatVector.zero(S);
        for (int k = 0; k < cols; k++) {
            a = FloatVector.fromArray(S, w, base + k * P).fma(FloatVector.broadcast(S, x[k]), a);
        }
        a.intoArray(acc, 0);
    }

    @Override
    void panels4(float[] x, int p, float[] acc) {
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
    void panels8(float[] x, int p, float[] acc) {
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

    @Override
    void tile2x4(int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
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

    @Override
    void tile1x4(int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
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
