package dev.tandem.engine.model;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * int8 weights in groups of 32 along a row with one f32 scale per (row, group) (Q8_0-style): a quarter of the bytes
 * of f32, the largest magnitude of each group mapped to ±127. Packed in panels like f32 ({@link PanelMatrix}), the
 * scales of a group as one vector per panel.
 *
 * <p>Each output is computed in one order in every kernel: per group, a chain of fused multiply-adds of the integer
 * weights (converted to f32, exact) with the token from zero, then {@code total = fma(groupSum, scale, total)} over
 * the groups in order. So int8 products are batch-invariant too, which the dot-product kernels they replaced were
 * not (their one-token product scaled group sums, their batched one multiplied widened weights). The conversion is
 * written out in every kernel: when C2 did not inline a helper, it ran un-intrinsified, allocating boxed vectors
 * (1.5 GB/s) and stalling decode steps for tens of milliseconds.
 */
public final class Q8Matrix extends PanelMatrix {

    public static final int GROUP = 32;

    /** The preferred float species (at least 8 lanes) and the byte species with as many lanes. */
    private static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.length() >= 8 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;

    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * Byte.SIZE));
    private static final VectorOperators.Conversion<Byte, Float> B2F = VectorOperators.B2F;

    /** Weights, packed like f32 panels. */
    private final byte[] q;
    /** Scale of (row r, group g) at {@code ((r / P) · groups + g) · P + r % P}. */
    private final float[] scales;

    private final int groups;

    private Q8Matrix(int rows, int cols) {
        super(rows, cols, F.length());
        this.groups = (cols + GROUP - 1) / GROUP;
        this.q = new byte[packedLength(rows, cols, P)];
        this.scales = new float[packedLength(rows, groups, P)];
    }

    public static Q8Matrix from(Matrix m) {
        int rows = m.rows();
        int cols = m.cols();
        Q8Matrix x = new Q8Matrix(rows, cols);
        int groups = x.groups;
        int p = x.P;
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.row(r, row);
            int base = x.offset(r);
            int sb = r / p * p * groups + r % p;
            for (int g = 0; g < groups; g++) {
                int from = g * GROUP;
                int to = Math.min(cols, from + GROUP);
                float max = 0;
                for (int c = from; c < to; c++) {
                    max = Math.max(max, Math.abs(row[c]));
                }
                float scale = max / 127f;
                x.scales[sb + g * p] = scale;
                float inv = scale == 0 ? 0 : 1 / scale;
                for (int c = from; c < to; c++) {
                    x.q[base + c * p] = (byte) Math.round(row[c] * inv);
                }
            }
        }
        return x;
    }

    @Override
    public long bytes() {
        return (long) rows * cols + (long) rows * groups * Float.BYTES;
    }

    @Override
    public void row(int r, float[] out) {
        int base = offset(r);
        int sb = r / P * P * groups + r % P;
        for (int k = 0; k < cols; k++) {
            out[k] = q[base + k * P] * scales[sb + k / GROUP * P];
        }
    }

    @Override
    void panel1(float[] x, int p, float[] acc) {
        int base = p * P * cols;
        int sb = p * P * groups;
        FloatVector total = FloatVector.zero(F);
        for (int g = 0; g < groups; g++) {
            int end = Math.min(cols, (g + 1) * GROUP);
            FloatVector a = FloatVector.zero(F);
            for (int k = g * GROUP; k < end; k++) {
                a = ((FloatVector) ByteVector.fromArray(B, q, base + k * P).convertShape(B2F, F, 0))
                        .fma(FloatVector.broadcast(F, x[k]), a);
            }
            total = a.fma(FloatVector.fromArray(F, scales, sb + g * P), total);
        }
        total.intoArray(acc, 0);
    }

    @Override
    void panels4(float[] x, int p, float[] acc) {
        four(x, p, acc, 0);
    }

    @Override
    void panels8(float[] x, int p, float[] acc) {
        // Two passes of four panels: eight group sums and eight totals would not stay in AVX2's registers.
        four(x, p, acc, 0);
        four(x, p + 4, acc, 4 * P);
    }

    /** Panels p..p + 3 against one token into {@code acc[at, at + 4P)}. */
    private void four(float[] x, int p, float[] acc, int at) {
        int st = P * cols;
        int ss = P * groups;
        int base = p * st;
        int sb = p * ss;
        FloatVector t0 = FloatVector.zero(F);
        FloatVector t1 = t0;
        FloatVector t2 = t0;
        FloatVector t3 = t0;
        for (int g = 0; g < groups; g++) {
            int end = Math.min(cols, (g + 1) * GROUP);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int k = g * GROUP; k < end; k++) {
                FloatVector xk = FloatVector.broadcast(F, x[k]);
                int o = base + k * P;
                a0 = ((FloatVector) ByteVector.fromArray(B, q, o).convertShape(B2F, F, 0)).fma(xk, a0);
                a1 = ((FloatVector) ByteVector.fromArray(B, q, o + st).convertShape(B2F, F, 0)).fma(xk, a1);
                a2 = ((FloatVector) ByteVector.fromArray(B, q, o + 2 * st).convertShape(B2F, F, 0)).fma(xk, a2);
                a3 = ((FloatVector) ByteVector.fromArray(B, q, o + 3 * st).convertShape(B2F, F, 0)).fma(xk, a3);
            }
            int so = sb + g * P;
            t0 = a0.fma(FloatVector.fromArray(F, scales, so), t0);
            t1 = a1.fma(FloatVector.fromArray(F, scales, so + ss), t1);
            t2 = a2.fma(FloatVector.fromArray(F, scales, so + 2 * ss), t2);
            t3 = a3.fma(FloatVector.fromArray(F, scales, so + 3 * ss), t3);
        }
        t0.intoArray(acc, at);
        t1.intoArray(acc, at + P);
        t2.intoArray(acc, at + 2 * P);
        t3.intoArray(acc, at + 3 * P);
    }

    /**
     * Both panels in one pass (each token's element loaded once for eight multiply-adds): eight group sums and eight
     * totals. One panel at a time measured ~20% slower prefill.
     */
    @Override
    void tile2x4(int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
        FloatVector t0 = FloatVector.zero(F);
        FloatVector t1 = t0;
        FloatVector t2 = t0;
        FloatVector t3 = t0;
        FloatVector t4 = t0;
        FloatVector t5 = t0;
        FloatVector t6 = t0;
        FloatVector t7 = t0;
        if (!zero) {
            t0 = FloatVector.fromArray(F, acc, 0);
            t4 = FloatVector.fromArray(F, acc, P);
            t1 = FloatVector.fromArray(F, acc, 2 * P);
            t5 = FloatVector.fromArray(F, acc, 3 * P);
            t2 = FloatVector.fromArray(F, acc, 4 * P);
            t6 = FloatVector.fromArray(F, acc, 5 * P);
            t3 = FloatVector.fromArray(F, acc, 6 * P);
            t7 = FloatVector.fromArray(F, acc, 7 * P);
        }
        int base = p * P * cols;
        int st = P * cols;
        int sb = p * P * groups;
        int ss = P * groups;
        for (int g = kb / GROUP, last = (kb + kc + GROUP - 1) / GROUP; g < last; g++) {
            int end = Math.min(cols, (g + 1) * GROUP);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector b0 = a0;
            FloatVector b1 = a0;
            FloatVector b2 = a0;
            FloatVector b3 = a0;
            for (int k = g * GROUP; k < end; k++) {
                int o = base + k * P;
                FloatVector u = ((FloatVector) ByteVector.fromArray(B, q, o).convertShape(B2F, F, 0));
                FloatVector v =
                        ((FloatVector) ByteVector.fromArray(B, q, o + st).convertShape(B2F, F, 0));
                FloatVector s0 = FloatVector.broadcast(F, x0[k]);
                a0 = u.fma(s0, a0);
                b0 = v.fma(s0, b0);
                FloatVector s1 = FloatVector.broadcast(F, x1[k]);
                a1 = u.fma(s1, a1);
                b1 = v.fma(s1, b1);
                FloatVector s2 = FloatVector.broadcast(F, x2[k]);
                a2 = u.fma(s2, a2);
                b2 = v.fma(s2, b2);
                FloatVector s3 = FloatVector.broadcast(F, x3[k]);
                a3 = u.fma(s3, a3);
                b3 = v.fma(s3, b3);
            }
            FloatVector su = FloatVector.fromArray(F, scales, sb + g * P);
            FloatVector sv = FloatVector.fromArray(F, scales, sb + ss + g * P);
            t0 = a0.fma(su, t0);
            t1 = a1.fma(su, t1);
            t2 = a2.fma(su, t2);
            t3 = a3.fma(su, t3);
            t4 = b0.fma(sv, t4);
            t5 = b1.fma(sv, t5);
            t6 = b2.fma(sv, t6);
            t7 = b3.fma(sv, t7);
        }
        t0.intoArray(acc, 0);
        t4.intoArray(acc, P);
        t1.intoArray(acc, 2 * P);
        t5.intoArray(acc, 3 * P);
        t2.intoArray(acc, 4 * P);
        t6.intoArray(acc, 5 * P);
        t3.intoArray(acc, 6 * P);
        t7.intoArray(acc, 7 * P);
    }

    @Override
    void tile1x4(int p, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
        tile(p, 0, kb, kc, x0, x1, x2, x3, acc, zero);
    }

    /**
     * Panel p by four tokens over columns [kb, kb + kc) (a whole number of groups: the k-block is a multiple of the
     * group), into slot {@code j} of each token's pair in {@code acc}: four group sums and four totals.
     */
    private void tile(
            int p, int j, int kb, int kc, float[] x0, float[] x1, float[] x2, float[] x3, float[] acc, boolean zero) {
        FloatVector t0 = FloatVector.zero(F);
        FloatVector t1 = t0;
        FloatVector t2 = t0;
        FloatVector t3 = t0;
        if (!zero) {
            t0 = FloatVector.fromArray(F, acc, j * P);
            t1 = FloatVector.fromArray(F, acc, (2 + j) * P);
            t2 = FloatVector.fromArray(F, acc, (4 + j) * P);
            t3 = FloatVector.fromArray(F, acc, (6 + j) * P);
        }
        int base = p * P * cols;
        int sb = p * P * groups;
        for (int g = kb / GROUP, last = (kb + kc + GROUP - 1) / GROUP; g < last; g++) {
            int end = Math.min(cols, (g + 1) * GROUP);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int k = g * GROUP; k < end; k++) {
                FloatVector u =
                        ((FloatVector) ByteVector.fromArray(B, q, base + k * P).convertShape(B2F, F, 0));
                a0 = u.fma(FloatVector.broadcast(F, x0[k]), a0);
                a1 = u.fma(FloatVector.broadcast(F, x1[k]), a1);
                a2 = u.fma(FloatVector.broadcast(F, x2[k]), a2);
                a3 = u.fma(FloatVector.broadcast(F, x3[k]), a3);
            }
            FloatVector s = FloatVector.fromArray(F, scales, sb + g * P);
            t0 = a0.fma(s, t0);
            t1 = a1.fma(s, t1);
            t2 = a2.fma(s, t2);
            t3 = a3.fma(s, t3);
        }
        t0.intoArray(acc, j * P);
        t1.intoArray(acc, (2 + j) * P);
        t2.intoArray(acc, (4 + j) * P);
        t3.intoArray(acc, (6 + j) * P);
    }
}
