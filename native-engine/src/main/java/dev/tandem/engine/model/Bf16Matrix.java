package dev.tandem.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * bf16 weights (the upper 16 bits of each f32), half the bytes of f32 and so about twice the decode speed where
 * decode is bound by memory bandwidth; in panels like f32 ({@link PanelMatrix}). Kernels widen a panel column to f32
 * in registers (exact) and accumulate in f32, so a bf16 product has the f32 kernels' order and their batch
 * invariance, and a batch or a prefill widens each weight once per four tokens. The widening (zero-extend to 32
 * bits, shift into the high half) is written out in every kernel: as a helper that returned the vector, C2 left a
 * cold call site uninlined and boxed a vector per panel column (27 KB per product).
 */
public final class Bf16Matrix extends PanelMatrix {

    /** The preferred float species (at least 8 lanes) and the int and short species with as many lanes. */
    private static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.length() >= 8 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;

    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> H =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * Short.SIZE));

    private final short[] w;

    private Bf16Matrix(int rows, int cols) {
        super(rows, cols, F.length());
        this.w = new short[packedLength(rows, cols, P)];
    }

    /** Rounds f32 weights to the nearest bf16 (ties to even). */
    public static Bf16Matrix from(Matrix m) {
        Bf16Matrix b = new Bf16Matrix(m.rows(), m.cols());
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.row(r, row);
            int base = b.offset(r);
            for (int k = 0; k < row.length; k++) {
                b.w[base + k * b.P] = toBf16(row[k]);
            }
        }
        return b;
    }

    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    @Override
    public long bytes() {
        return (long) rows * cols * Short.BYTES;
    }

    @Override
    public void row(int r, float[] out) {
        int base = offset(r);
        for (int k = 0; k < cols; k++) {
            out[k] = toFloat(w[base + k * P]);
        }
    }

    @Override
    void panel1(float[] x, int p, float[] acc) {
        int base = p * P * cols;
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < cols; k++) {
            a = ((IntVector) ShortVector.fromArray(H, w, base + k * P)
                            .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(FloatVector.broadcast(F, x[k]), a);
        }
        a.intoArray(acc, 0);
    }

    @Override
    void panels4(float[] x, int p, float[] acc) {
        int b0 = p * P * cols;
        int b1 = b0 + P * cols;
        int b2 = b1 + P * cols;
        int b3 = b2 + P * cols;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int k = 0, o = 0; k < cols; k++, o += P) {
            FloatVector xk = FloatVector.broadcast(F, x[k]);
            a0 = ((IntVector) ShortVector.fromArray(H, w, b0 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a0);
            a1 = ((IntVector) ShortVector.fromArray(H, w, b1 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a1);
            a2 = ((IntVector) ShortVector.fromArray(H, w, b2 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a2);
            a3 = ((IntVector) ShortVector.fromArray(H, w, b3 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, P);
        a2.intoArray(acc, 2 * P);
        a3.intoArray(acc, 3 * P);
    }

    @Override
    void panels8(float[] x, int p, float[] acc) {
        int st = P * cols;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        for (int k = 0, o = p * st; k < cols; k++, o += P) {
            FloatVector xk = FloatVector.broadcast(F, x[k]);
            a0 = ((IntVector) ShortVector.fromArray(H, w, o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a0);
            a1 = ((IntVector) ShortVector.fromArray(H, w, o + st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a1);
            a2 = ((IntVector)
                            ShortVector.fromArray(H, w, o + 2 * st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a2);
            a3 = ((IntVector)
                            ShortVector.fromArray(H, w, o + 3 * st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a3);
            a4 = ((IntVector)
                            ShortVector.fromArray(H, w, o + 4 * st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a4);
            a5 = ((IntVector)
                            ShortVector.fromArray(H, w, o + 5 * st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a5);
            a6 = ((IntVector)
                            ShortVector.fromArray(H, w, o + 6 * st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a6);
            a7 = ((IntVector)
                            ShortVector.fromArray(H, w, o + 7 * st).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xk, a7);
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
        FloatVector a0 = FloatVector.zero(F);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        FloatVector a2 = a0;
        FloatVector b2 = a0;
        FloatVector a3 = a0;
        FloatVector b3 = a0;
        if (!zero) {
            a0 = FloatVector.fromArray(F, acc, 0);
            b0 = FloatVector.fromArray(F, acc, P);
            a1 = FloatVector.fromArray(F, acc, 2 * P);
            b1 = FloatVector.fromArray(F, acc, 3 * P);
            a2 = FloatVector.fromArray(F, acc, 4 * P);
            b2 = FloatVector.fromArray(F, acc, 5 * P);
            a3 = FloatVector.fromArray(F, acc, 6 * P);
            b3 = FloatVector.fromArray(F, acc, 7 * P);
        }
        int w0 = (p * cols + kb) * P;
        int w1 = w0 + cols * P;
        for (int k = kb, o = 0, end = kb + kc; k < end; k++, o += P) {
            FloatVector u = ((IntVector)
                            ShortVector.fromArray(H, w, w0 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            FloatVector v = ((IntVector)
                            ShortVector.fromArray(H, w, w1 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
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
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        if (!zero) {
            a0 = FloatVector.fromArray(F, acc, 0);
            a1 = FloatVector.fromArray(F, acc, 2 * P);
            a2 = FloatVector.fromArray(F, acc, 4 * P);
            a3 = FloatVector.fromArray(F, acc, 6 * P);
        }
        int w0 = (p * cols + kb) * P;
        for (int k = kb, o = 0, end = kb + kc; k < end; k++, o += P) {
            FloatVector u = ((IntVector)
                            ShortVector.fromArray(H, w, w0 + o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            a0 = u.fma(FloatVector.broadcast(F, x0[k]), a0);
            a1 = u.fma(FloatVector.broadcast(F, x1[k]), a1);
            a2 = u.fma(FloatVector.broadcast(F, x2[k]), a2);
            a3 = u.fma(FloatVector.broadcast(F, x3[k]), a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, 2 * P);
        a2.intoArray(acc, 4 * P);
        a3.intoArray(acc, 6 * P);
    }
}
