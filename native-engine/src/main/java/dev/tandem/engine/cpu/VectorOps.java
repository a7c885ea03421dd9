package dev.tandem.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The f32 kernels of the CPU backend on the Vector API: the preferred species, chosen once, four independent
 * accumulators so that fused multiply-adds pipeline, and a scalar tail for lengths that are not a multiple of the
 * vector length. No allocation.
 */
public final class VectorOps {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private VectorOps() {}

    /** Floats per vector of the preferred species. */
    public static int lanes() {
        return L;
    }

    /**
     * {@code Σ a[ao + i] · b[bo + i]} in the order every matrix product of the engine uses for each of its outputs:
     * one fused multiply-add accumulator over whole vectors, its lanes added, then a scalar tail. {@link #dot4} and
     * {@link #dot4x4} keep that order for each of their outputs, so a position's result does not depend on how many
     * positions share its step or where it sits among them (batch invariance: a request gives the same tokens alone,
     * in a batch, or continued on another worker after a migration). One dependency chain per row is enough for a
     * single token's product, which is bound by reading the weights.
     */
    public static float dotOrdered(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += a[ao + i] * b[bo + i];
        }
        return sum;
    }

    /**
     * {@code Σ a[ao + i] · b[bo + i]} with four accumulators: another order than {@link #dotOrdered}, so only for
     * reductions that never meet a batched counterpart (a vector's own norm).
     */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float sum;
        if (n >= 4 * L) {
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = FloatVector.zero(S);
            FloatVector s2 = FloatVector.zero(S);
            FloatVector s3 = FloatVector.zero(S);
            int bound = n - 4 * L;
            for (; i <= bound; i += 4 * L) {
                s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
                s1 = FloatVector.fromArray(S, a, ao + i + L).fma(FloatVector.fromArray(S, b, bo + i + L), s1);
                s2 = FloatVector.fromArray(S, a, ao + i + 2 * L).fma(FloatVector.fromArray(S, b, bo + i + 2 * L), s2);
                s3 = FloatVector.fromArray(S, a, ao + i + 3 * L).fma(FloatVector.fromArray(S, b, bo + i + 3 * L), s3);
            }
            sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        } else {
            sum = 0;
        }
        for (; i + L <= n; i += L) {
            sum += FloatVector.fromArray(S, a, ao + i)
                    .mul(FloatVector.fromArray(S, b, bo + i))
                    .reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[ao + i] * b[bo + i];
        }
        return sum;
    }

    /**
     * Four dot products of one weight row with four vectors, loading each weight vector once:
     * {@code out[j] = Σ w[wo + i] · xj[i]}.
     */
    public static void dot4(float[] w, int wo, float[] x0, float[] x1, float[] x2, float[] x3, int n, float[] out) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector wv = FloatVector.fromArray(S, w, wo + i);
            s0 = wv.fma(FloatVector.fromArray(S, x0, i), s0);
            s1 = wv.fma(FloatVector.fromArray(S, x1, i), s1);
            s2 = wv.fma(FloatVector.fromArray(S, x2, i), s2);
            s3 = wv.fma(FloatVector.fromArray(S, x3, i), s3);
        }
        float r0 = s0.reduceLanes(VectorOperators.ADD);
        float r1 = s1.reduceLanes(VectorOperators.ADD);
        float r2 = s2.reduceLanes(VectorOperators.ADD);
        float r3 = s3.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float wi = w[wo + i];
            r0 += wi * x0[i];
            r1 += wi * x1[i];
            r2 += wi * x2[i];
            r3 += wi * x3[i];
        }
        out[0] = r0;
        out[1] = r1;
        out[2] = r2;
        out[3] = r3;
    }

    /**
     * Sixteen dot products, four weight rows by four vectors, with sixteen accumulators: each loaded weight vector
     * feeds four products and each loaded input vector four more, so a batched product is bound by the multiply-add
     * units rather than by loads. {@code out[4k + j] = Σ w[wo_k + i] · xj[i]}; {@code n} a multiple of the lanes.
     */
    public static void dot4x4(
            float[] w,
            int wo0,
            int wo1,
            int wo2,
            int wo3,
            float[] x0,
            float[] x1,
            float[] x2,
            float[] x3,
            int n,
            float[] out) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        FloatVector c0 = a0;
        FloatVector c1 = a0;
        FloatVector c2 = a0;
        FloatVector c3 = a0;
        FloatVector d0 = a0;
        FloatVector d1 = a0;
        FloatVector d2 = a0;
        FloatVector d3 = a0;
        for (int i = 0; i < n; i += L) {
            FloatVector v0 = FloatVector.fromArray(S, x0, i);
            FloatVector v1 = FloatVector.fromArray(S, x1, i);
            FloatVector v2 = FloatVector.fromArray(S, x2, i);
            FloatVector v3 = FloatVector.fromArray(S, x3, i);
            FloatVector w0 = FloatVector.fromArray(S, w, wo0 + i);
            a0 = w0.fma(v0, a0);
            a1 = w0.fma(v1, a1);
            a2 = w0.fma(v2, a2);
            a3 = w0.fma(v3, a3);
            FloatVector w1 = FloatVector.fromArray(S, w, wo1 + i);
            b0 = w1.fma(v0, b0);
            b1 = w1.fma(v1, b1);
            b2 = w1.fma(v2, b2);
            b3 = w1.fma(v3, b3);
            FloatVector w2 = FloatVector.fromArray(S, w, wo2 + i);
            c0 = w2.fma(v0, c0);
            c1 = w2.fma(v1, c1);
            c2 = w2.fma(v2, c2);
            c3 = w2.fma(v3, c3);
            FloatVector w3 = FloatVector.fromArray(S, w, wo3 + i);
            d0 = w3.fma(v0, d0);
            d1 = w3.fma(v1, d1);
            d2 = w3.fma(v2, d2);
            d3 = w3.fma(v3, d3);
        }
        out[0] = a0.reduceLanes(VectorOperators.ADD);
        out[1] = a1.reduceLanes(VectorOperators.ADD);
        out[2] = a2.reduceLanes(VectorOperators.ADD);
        out[3] = a3.reduceLanes(VectorOperators.ADD);
        out[4] = b0.reduceLanes(VectorOperators.ADD);
        out[5] = b1.reduceLanes(VectorOperators.ADD);
        out[6] = b2.reduceLanes(VectorOperators.ADD);
        out[7] = b3.reduceLanes(VectorOperators.ADD);
        out[8] = c0.reduceLanes(VectorOperators.ADD);
        out[9] = c1.reduceLanes(VectorOperators.ADD);
        out[10] = c2.reduceLanes(VectorOperators.ADD);
        out[11] = c3.reduceLanes(VectorOperators.ADD);
        out[12] = d0.reduceLanes(VectorOperators.ADD);
        out[13] = d1.reduceLanes(VectorOperators.ADD);
        out[14] = d2.reduceLanes(VectorOperators.ADD);
        out[15] = d3.reduceLanes(VectorOperators.ADD);
    }

    /** {@code y[yo + i] += alpha · x[xo + i]} for i in [0, n). */
    public static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        FloatVector va = FloatVector.broadcast(S, alpha);
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, xo + i)
                    .fma(va, FloatVector.fromArray(S, y, yo + i))
                    .intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }

    /** RMSNorm as llama2.c computes it: {@code out = w · x / sqrt(mean(x²) + eps)}. */
    public static void rmsNorm(float[] out, float[] x, float[] w, int n, float eps) {
        float ss = dot(x, 0, x, 0, n) / n + eps;
        float inv = (float) (1.0 / Math.sqrt(ss));
        for (int i = 0; i < n; i++) {
            out[i] = w[i] * (inv * x[i]);
        }
    }

    /**
     * In-place softmax of x[o, o + n): the maximum (exact in any order), the exponentials ({@link Exponentials}), their
     * sum in index order as llama2.c adds them, then one multiplication by the reciprocal per element.
     */
    public static void softmax(float[] x, int o, int n) {
        exponentials(x, o, n);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[o + i];
        }
        scale(x, o, n, 1 / sum);
    }

    /**
     * {@link #softmax} of rows {@code r[i][0, len0 + i)} for i in [0, count), each as {@link #softmax} computes it
     * alone; the sums of four rows run in one loop, since a single row's sum in index order is one chain of
     * dependent additions (latency-bound: 6% of a 2,048-token prefill).
     */
    public static void softmaxRows(float[][] r, int count, int len0) {
        for (int i = 0; i < count; i++) {
            exponentials(r[i], 0, len0 + i);
        }
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            float[] x0 = r[i];
            float[] x1 = r[i + 1];
            float[] x2 = r[i + 2];
            float[] x3 = r[i + 3];
            int common = len0 + i;
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            for (int j = 0; j < common; j++) {
                s0 += x0[j];
                s1 += x1[j];
                s2 += x2[j];
                s3 += x3[j];
            }
            s1 += x1[common];
            s2 += x2[common];
            s2 += x2[common + 1];
            s3 += x3[common];
            s3 += x3[common + 1];
            s3 += x3[common + 2];
            scale(x0, 0, common, 1 / s0);
            scale(x1, 0, common + 1, 1 / s1);
            scale(x2, 0, common + 2, 1 / s2);
            scale(x3, 0, common + 3, 1 / s3);
        }
        for (; i < count; i++) {
            float[] x = r[i];
            int n = len0 + i;
            float sum = 0;
            for (int j = 0; j < n; j++) {
                sum += x[j];
            }
            scale(x, 0, n, 1 / sum);
        }
    }

    /** {@code x[o + i] = exp(x[o + i] - max)} over [0, n), max the largest of them. */
    private static void exponentials(float[] x, int o, int n) {
        int i = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector m = FloatVector.fromArray(S, x, o);
            for (i = L; i + L <= n; i += L) {
                m = m.max(FloatVector.fromArray(S, x, o + i));
            }
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Math.max(max, x[o + i]);
        }
        Exponentials.expShifted(x, o, n, max);
    }

    private static void scale(float[] x, int o, int n, float f) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, o + i).mul(f).intoArray(x, o + i);
        }
        for (; i < n; i++) {
            x[o + i] *= f;
        }
    }
}
