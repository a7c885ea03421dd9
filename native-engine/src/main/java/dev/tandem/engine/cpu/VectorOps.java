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
     * {@code Σ a[ao + i] · b[bo + i]} with four accumulators, for reductions that never meet a batched counterpart
     * (a vector's own norm).
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
     * {@link #softmax} of rows {@code r[i][0, len[i])} for i in [0, count), each as
     * {@link #softmax} computes it alone; the sums of four rows run in one loop, since a single row's sum in index
     * order is one chain of dependent additions (latency-bound: 6% of a 2,048-token prefill).
     */
    public static void softmaxRows(float[][] r, int[] len, int count) {
        for (int i = 0; i < count; i++) {
            exponentials(r[i], 0, len[i]);
        }
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            float[] x0 = r[i];
            float[] x1 = r[i + 1];
            float[] x2 = r[i + 2];
            float[] x3 = r[i + 3];
            int common = Math.min(Math.min(len[i], len[i + 1]), Math.min(len[i + 2], len[i + 3]));
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
            for (int j = common; j < len[i]; j++) {
                s0 += x0[j];
            }
            for (int j = common; j < len[i + 1]; j++) {
                s1 += x1[j];
            }
            for (int j = common; j < len[i + 2]; j++) {
                s2 += x2[j];
            }
            for (int j = common; j < len[i + 3]; j++) {
                s3 += x3[j];
            }
            scale(x0, 0, len[i], 1 / s0);
            scale(x1, 0, len[i + 1], 1 / s1);
            scale(x2, 0, len[i + 2], 1 / s2);
            scale(x3, 0, len[i + 3], 1 / s3);
        }
        for (; i < count; i++) {
            float[] x = r[i];
            int n = len[i];
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
