package dev.tandem.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * bf16 weights (the upper 16 bits of each f32), half the bytes of f32 and so about twice the decode speed where
 * decode is bound by memory bandwidth. Products widen to f32 in registers and accumulate in f32.
 */
public final class Bf16Matrix implements WidenedRows {

    /** The preferred float species (at least 8 lanes) and the int and short species with as many lanes. */
    private static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.length() >= 8 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;

    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * Short.SIZE));
    private static final int L = F.length();

    private final short[] w;
    private final int rows;
    private final int cols;

    private Bf16Matrix(short[] w, int rows, int cols) {
        this.w = w;
        this.rows = rows;
        this.cols = cols;
    }

    /** Rounds f32 weights to the nearest bf16 (ties to even). */
    public static Bf16Matrix from(Matrix m) {
        int rows = m.rows();
        int cols = m.cols();
        short[] w = new short[Math.multiplyExact(rows, cols)];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.row(r, row);
            for (int c = 0; c < cols; c++) {
                w[r * cols + c] = toBf16(row[c]);
            }
        }
        return new Bf16Matrix(w, rows, cols);
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
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long bytes() {
        return (long) rows * cols * Short.BYTES;
    }

    @Override
    public void matVec(float[] x, float[] out, int from, int to) {
        for (int r = from; r < to; r++) {
            out[r] = dot(r * cols, x);
        }
    }

    /**
     * In the order of the batched path (rows widened to f32, then the f32 kernels): one accumulator, a tail, so a
     * token's product is the same alone or in a batch. One dependency chain costs about 15% of batch-1 decode
     * against two accumulators on this machine; computing two rows at a time instead measured half the speed.
     */
    private float dot(int wo, float[] x) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= cols; i += L) {
            acc = widen(wo + i).fma(FloatVector.fromArray(F, x, i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            sum += toFloat(w[wo + i]) * x[i];
        }
        return sum;
    }

    /** Eight bf16 weights as f32: zero-extend to 32 bits, shift into the high half. */
    private FloatVector widen(int offset) {
        ShortVector s = ShortVector.fromArray(S, w, offset);
        IntVector i = (IntVector) s.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    public void decode(int r, float[] dst, int off) {
        int base = r * cols;
        int c = 0;
        for (; c + L <= cols; c += L) {
            widen(base + c).intoArray(dst, off + c);
        }
        for (; c < cols; c++) {
            dst[off + c] = toFloat(w[base + c]);
        }
    }
}
