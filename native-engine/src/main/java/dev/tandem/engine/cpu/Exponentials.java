package dev.tandem.engine.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exponential of f32 arrays on the Vector API, for softmax and the SwiGLU gate, giving what {@code (float)
 * Math.exp((double) x)} gives.
 *
 * <p>Each lane is widened to f64 and evaluated as {@code 2^n · e^r} (Cody–Waite reduction, a degree-12 Taylor
 * polynomial whose truncation error is below 2e-16 relative), then rounded once to f32. That is the rounding the
 * scalar code did, so a result differs from it only when the exact value lies within about 1e-16 of a point halfway
 * between two floats: none in 20 million samples (the test counts them). Every element, vector lanes and scalar
 * tails alike, takes the same operations, so the result does not depend on where an element sits in its array
 * (decode and prefill agree bit for bit). In a 512-token prefill the scalar {@link Math#exp} was 8% of the time;
 * this is a few multiply-adds per element.
 */
public final class Exponentials {

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as the doubles of {@link #D}: half its width. */
    private static final VectorSpecies<Float> F =
            VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    private static final int N = D.length();

    /** Below this e^x is 0 in f32 (the smallest subnormal is e^-103.3); above the next, infinity (e^88.72). */
    private static final double LOW = -110;

    private static final double HIGH = 89;
    private static final double LOG2E = 1.4426950408889634;
    /** ln 2 in two parts: n · LN2_HI is exact for the n that the clamp allows. */
    private static final double LN2_HI = 0.6931471803691238;

    private static final double LN2_LO = 1.9082149292705877e-10;
    /** 1.5 · 2^52: adding it rounds a double of magnitude below 2^51 to an integer in its low mantissa bits. */
    private static final double SHIFTER = 6755399441055744.0;

    private static final long SHIFTER_BITS = Double.doubleToRawLongBits(SHIFTER);
    /** 1/k!: the Taylor coefficients of e^r. */
    private static final double C12 = 1.0 / 479001600;

    private static final double C11 = 1.0 / 39916800;
    private static final double C10 = 1.0 / 3628800;
    private static final double C9 = 1.0 / 362880;
    private static final double C8 = 1.0 / 40320;
    private static final double C7 = 1.0 / 5040;
    private static final double C6 = 1.0 / 720;
    private static final double C5 = 1.0 / 120;
    private static final double C4 = 1.0 / 24;
    private static final double C3 = 1.0 / 6;
    private static final double C2 = 1.0 / 2;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private Exponentials() {}

    /**
     * {@code x[o + i] = exp(x[o + i] - shift)} for i in [0, n). One method body with every step written out: a vector
     * passed to or returned from a helper that C2 does not inline is boxed, and this kernel then allocated gigabytes
     * per second in decode (whose short softmax rows let the helper stay cold).
     */
    public static void expShifted(float[] x, int o, int n, float shift) {
        int i = 0;
        for (; i + N <= n; i += N) {
            FloatVector f = FloatVector.fromArray(F, x, o + i).sub(shift);
            DoubleVector d = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
            d = d.max(LOW).min(HIGH);
            DoubleVector t = d.mul(LOG2E).add(SHIFTER);
            DoubleVector k = t.sub(SHIFTER);
            DoubleVector r = k.fma(DoubleVector.broadcast(D, -LN2_HI), d);
            r = k.fma(DoubleVector.broadcast(D, -LN2_LO), r);
            DoubleVector p = DoubleVector.broadcast(D, C12)
                    .fma(r, DoubleVector.broadcast(D, C11))
                    .fma(r, DoubleVector.broadcast(D, C10))
                    .fma(r, DoubleVector.broadcast(D, C9))
                    .fma(r, DoubleVector.broadcast(D, C8))
                    .fma(r, DoubleVector.broadcast(D, C7))
                    .fma(r, DoubleVector.broadcast(D, C6))
                    .fma(r, DoubleVector.broadcast(D, C5))
                    .fma(r, DoubleVector.broadcast(D, C4))
                    .fma(r, DoubleVector.broadcast(D, C3))
                    .fma(r, DoubleVector.broadcast(D, C2))
                    .fma(r, DoubleVector.broadcast(D, 1.0))
                    .fma(r, DoubleVector.broadcast(D, 1.0));
            LongVector bits = (LongVector) t.reinterpretAsLongs();
            DoubleVector scale = (DoubleVector) bits.sub(SHIFTER_BITS - 1023)
                    .lanewise(VectorOperators.LSHL, 52)
                    .reinterpretAsDoubles();
            ((FloatVector) p.mul(scale).convertShape(VectorOperators.D2F, F, 0)).intoArray(x, o + i);
        }
        for (; i < n; i++) {
            x[o + i] = (float) exp((double) (x[o + i] - shift));
        }
    }

    /**
     * The SwiGLU gate on rows [from, to): {@code g[i] = g[i] / (1 + exp(-g[i])) · u[i]}, in f32 as llama2.c writes
     * it. The exponentials go through {@link #expShifted} in a per-thread scratch row.
     */
    public static void swiGlu(float[] g, float[] u, int from, int to) {
        int n = to - from;
        float[] e = SCRATCH.get();
        if (e.length < n) {
            e = new float[n];
            SCRATCH.set(e);
        }
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, g, from + i).neg().intoArray(e, i);
        }
        for (; i < n; i++) {
            e[i] = -g[from + i];
        }
        expShifted(e, 0, n, 0f);
        i = 0;
        for (; i + L <= n; i += L) {
            FloatVector gv = FloatVector.fromArray(S, g, from + i);
            FloatVector ev = FloatVector.fromArray(S, e, i);
            gv.div(ev.add(1f)).mul(FloatVector.fromArray(S, u, from + i)).intoArray(g, from + i);
        }
        for (; i < n; i++) {
            float gi = g[from + i];
            g[from + i] = gi / (1f + e[i]) * u[from + i];
        }
    }

    /** The same operations as the vector form, on one value. */
    static double exp(double d) {
        d = Math.min(Math.max(d, LOW), HIGH);
        double t = d * LOG2E + SHIFTER;
        double k = t - SHIFTER;
        double r = Math.fma(k, -LN2_HI, d);
        r = Math.fma(k, -LN2_LO, r);
        double p = C12;
        p = Math.fma(p, r, C11);
        p = Math.fma(p, r, C10);
        p = Math.fma(p, r, C9);
        p = Math.fma(p, r, C8);
        p = Math.fma(p, r, C7);
        p = Math.fma(p, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1.0);
        p = Math.fma(p, r, 1.0);
        long bits = Double.doubleToRawLongBits(t);
        return p * Double.longBitsToDouble((bits - (SHIFTER_BITS - 1023)) << 52);
    }
}
