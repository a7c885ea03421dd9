package dev.tandem.engine.model;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * int8 weights in groups of 32 with one f32 scale per group (Q8_0-style): a quarter of the bytes of f32, with the
 * largest magnitude of each group mapped to ±127. Products dequantize on the fly and accumulate in f32.
 */
public final class Q8Matrix implements WidenedRows {

    public static final int GROUP = 32;

    private final byte[] q;
    private final float[] scales;
    private final int rows;
    private final int cols;
    private final int groupsPerRow;

    private Q8Matrix(byte[] q, float[] scales, int rows, int cols) {
        this.q = q;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.groupsPerRow = (cols + GROUP - 1) / GROUP;
    }

    public static Q8Matrix from(Matrix m) {
        int rows = m.rows();
        int cols = m.cols();
        int groups = (cols + GROUP - 1) / GROUP;
        byte[] q = new byte[Math.multiplyExact(rows, cols)];
        float[] scales = new float[Math.multiplyExact(rows, groups)];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.row(r, row);
            for (int g = 0; g < groups; g++) {
                int from = g * GROUP;
                int to = Math.min(cols, from + GROUP);
                float max = 0;
                for (int c = from; c < to; c++) {
                    max = Math.max(max, Math.abs(row[c]));
                }
                float scale = max / 127f;
                scales[r * groups + g] = scale;
                float inv = scale == 0 ? 0 : 1 / scale;
                for (int c = from; c < to; c++) {
                    q[r * cols + c] = (byte) Math.round(row[c] * inv);
                }
            }
        }
        return new Q8Matrix(q, scales, rows, cols);
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
        return (long) q.length + (long) scales.length * Float.BYTES;
    }

    @Override
    public void matVec(float[] x, float[] out, int from, int to) {
        if (cols % GROUP == 0) {
            for (int r = from; r < to; r++) {
                out[r] = dotVector(r, x);
            }
            return;
        }
        for (int r = from; r < to; r++) {
            int base = r * cols;
            int sb = r * groupsPerRow;
            float sum = 0;
            for (int g = 0; g < groupsPerRow; g++) {
                int c0 = g * GROUP;
                int c1 = Math.min(cols, c0 + GROUP);
                float s0 = 0;
                float s1 = 0;
                int c = c0;
                for (; c + 1 < c1; c += 2) {
                    s0 += q[base + c] * x[c];
                    s1 += q[base + c + 1] * x[c + 1];
                }
                if (c < c1) {
                    s0 += q[base + c] * x[c];
                }
                sum += (s0 + s1) * scales[sb + g];
            }
            out[r] = sum;
        }
    }

    /** The preferred float species and the byte species with as many lanes (16 bytes → 16 floats on AVX-512; at least
     * 8 lanes, since a byte vector has at least 64 bits). */
    private static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.length() >= 8 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;

    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * Byte.SIZE));

    /**
     * One row times x on the Vector API: int8 weights widen to f32 a whole float vector at a time, each group's sum
     * is scaled once. Needs cols to be a multiple of the group (true of every real model's hidden sizes). The
     * conversion is written out here rather than in a helper: when C2 did not inline a helper, the conversion ran
     * un-intrinsified, allocating boxed vectors (1.5 GB/s) and stalling decode steps for tens of milliseconds.
     */
    private float dotVector(int r, float[] x) {
        int base = r * cols;
        int sb = r * groupsPerRow;
        int lanes = F.length();
        FloatVector total = FloatVector.zero(F);
        for (int g = 0; g < groupsPerRow; g++) {
            int c = g * GROUP;
            FloatVector acc = FloatVector.zero(F);
            for (int k = 0; k < GROUP; k += lanes) {
                FloatVector wv =
                        (FloatVector) ByteVector.fromArray(B, q, base + c + k).convertShape(B2F, F, 0);
                acc = wv.fma(FloatVector.fromArray(F, x, c + k), acc);
            }
            total = acc.fma(FloatVector.broadcast(F, scales[sb + g]), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    private static final VectorOperators.Conversion<Byte, Float> B2F = VectorOperators.B2F;

    @Override
    public void decode(int r, float[] dst, int off) {
        int base = r * cols;
        int sb = r * groupsPerRow;
        int lanes = F.length();
        int c = 0;
        if (cols % GROUP == 0) {
            for (int g = 0; g < groupsPerRow; g++, c += GROUP) {
                FloatVector scale = FloatVector.broadcast(F, scales[sb + g]);
                for (int k = 0; k < GROUP; k += lanes) {
                    ((FloatVector) ByteVector.fromArray(B, q, base + c + k).convertShape(B2F, F, 0))
                            .mul(scale)
                            .intoArray(dst, off + c + k);
                }
            }
        }
        for (; c < cols; c++) {
            dst[off + c] = q[base + c] * scales[sb + c / GROUP];
        }
    }
}
