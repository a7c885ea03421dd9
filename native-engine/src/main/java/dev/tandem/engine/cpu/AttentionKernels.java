package dev.tandem.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The products of attention over the paged KV store, for one query or a block of queries.
 *
 * <p>Scores read keys stored transposed within a block (a head's block is {@code headDim} rows of {@code blockSize}
 * slots, see {@link PagedKvStore}), so the scores of one query against a vector of consecutive slots are one vector
 * of multiply-adds over the head dimension, with the query's elements broadcast: no horizontal reduction per key,
 * which cost a one-query-at-a-time kernel about 26 cycles per score. Several queries (a prefill block) share each
 * loaded key vector. Values stay slot-major; their weighted sum keeps a block of outputs in registers and broadcasts
 * the attention weights.
 *
 * <p>Every output has one fixed sequence of operations, whatever kernel or block computes it: a score is
 * {@code fma(q[d], k[d], acc)} for d = 0, 1, ... from zero, then times the scale; an output element is {@code fma(a[j],
 * v[j], acc)} for j = 0, 1, ... from zero. So a position's attention is the same bit for bit alone (decode), in a
 * prefill block, or recomputed elsewhere after a migration.
 */
final class AttentionKernels {

    private static final VectorSpecies<Float> S = VectorOps.S;
    private static final int L = VectorOps.L;

    private AttentionKernels() {}

    /** Floats per vector of the preferred species. */
    static int lanes() {
        return L;
    }

    /**
     * One query against four key vectors: {@code out[oN + j] = scale · Σ_d q[qo + d] · kt[kN + d·bs + j]} for lanes j
     * and key vectors N = 0..3 (four independent chains hide the multiply-add latency of a single query).
     */
    static void scores1x4(
            float[] q,
            int qo,
            float[] kt,
            int k0,
            int k1,
            int k2,
            int k3,
            int bs,
            int hs,
            float scale,
            float[] out,
            int o0,
            int o1,
            int o2,
            int o3) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int d = 0, off = 0; d < hs; d++, off += bs) {
            FloatVector qd = FloatVector.broadcast(S, q[qo + d]);
            a0 = FloatVector.fromArray(S, kt, k0 + off).fma(qd, a0);
            a1 = FloatVector.fromArray(S, kt, k1 + off).fma(qd, a1);
            a2 = FloatVector.fromArray(S, kt, k2 + off).fma(qd, a2);
            a3 = FloatVector.fromArray(S, kt, k3 + off).fma(qd, a3);
        }
        a0.mul(scale).intoArray(out, o0);
        a1.mul(scale).intoArray(out, o1);
        a2.mul(scale).intoArray(out, o2);
        a3.mul(scale).intoArray(out, o3);
    }

    /** One query against one key vector (as {@link #scores1x4}). */
    static void scores1x1(float[] q, int qo, float[] kt, int k0, int bs, int hs, float scale, float[] out, int o0) {
        FloatVector a0 = FloatVector.zero(S);
        for (int d = 0, off = 0; d < hs; d++, off += bs) {
            a0 = FloatVector.fromArray(S, kt, k0 + off).fma(FloatVector.broadcast(S, q[qo + d]), a0);
        }
        a0.mul(scale).intoArray(out, o0);
    }

    /**
     * Four queries ({@code qI} at head offset {@code qoI}: positions of a prefill block, or the query heads that share
     * a KV head) against two key vectors: eight accumulators, each loaded key vector used four times. Query i's scores
     * go to {@code outI}, key vector N's lanes at offset {@code oN}.
     */
    static void scores4x2(
            float[] q0,
            int qo0,
            float[] q1,
            int qo1,
            float[] q2,
            int qo2,
            float[] q3,
            int qo3,
            float[] kt,
            int k0,
            int k1,
            int bs,
            int hs,
            float scale,
            float[] out0,
            float[] out1,
            float[] out2,
            float[] out3,
            int o0,
            int o1) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        for (int d = 0, off = 0; d < hs; d++, off += bs) {
            FloatVector ka = FloatVector.fromArray(S, kt, k0 + off);
            FloatVector kb = FloatVector.fromArray(S, kt, k1 + off);
            FloatVector x0 = FloatVector.broadcast(S, q0[qo0 + d]);
            a0 = ka.fma(x0, a0);
            b0 = kb.fma(x0, b0);
            FloatVector x1 = FloatVector.broadcast(S, q1[qo1 + d]);
            a1 = ka.fma(x1, a1);
            b1 = kb.fma(x1, b1);
            FloatVector x2 = FloatVector.broadcast(S, q2[qo2 + d]);
            a2 = ka.fma(x2, a2);
            b2 = kb.fma(x2, b2);
            FloatVector x3 = FloatVector.broadcast(S, q3[qo3 + d]);
            a3 = ka.fma(x3, a3);
            b3 = kb.fma(x3, b3);
        }
        a0.mul(scale).intoArray(out0, o0);
        a1.mul(scale).intoArray(out1, o0);
        a2.mul(scale).intoArray(out2, o0);
        a3.mul(scale).intoArray(out3, o0);
        b0.mul(scale).intoArray(out0, o1);
        b1.mul(scale).intoArray(out1, o1);
        b2.mul(scale).intoArray(out2, o1);
        b3.mul(scale).intoArray(out3, o1);
    }

    /** Four queries against one key vector (as {@link #scores4x2}). */
    static void scores4x1(
            float[] q0,
            int qo0,
            float[] q1,
            int qo1,
            float[] q2,
            int qo2,
            float[] q3,
            int qo3,
            float[] kt,
            int k0,
            int bs,
            int hs,
            float scale,
            float[] out0,
            float[] out1,
            float[] out2,
            float[] out3,
            int o0) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int d = 0, off = 0; d < hs; d++, off += bs) {
            FloatVector ka = FloatVector.fromArray(S, kt, k0 + off);
            a0 = ka.fma(FloatVector.broadcast(S, q0[qo0 + d]), a0);
            a1 = ka.fma(FloatVector.broadcast(S, q1[qo1 + d]), a1);
            a2 = ka.fma(FloatVector.broadcast(S, q2[qo2 + d]), a2);
            a3 = ka.fma(FloatVector.broadcast(S, q3[qo3 + d]), a3);
        }
        a0.mul(scale).intoArray(out0, o0);
        a1.mul(scale).intoArray(out1, o0);
        a2.mul(scale).intoArray(out2, o0);
        a3.mul(scale).intoArray(out3, o0);
    }

    /** One score with the vector lanes' operations, for a block size that is not a multiple of the lanes. */
    static float score(float[] q, int qo, float[] kt, int k, int bs, int hs, float scale) {
        float acc = 0f;
        for (int d = 0, off = 0; d < hs; d++, off += bs) {
            acc = Math.fma(kt[k + off], q[qo + d], acc);
        }
        return acc * scale;
    }

    /**
     * Adds {@code count} values stored {@code hs} floats apart, weighted, to one output:
     * {@code out[oo + i] += Σ_j a[ao + j] · v[vo + j·hs + i]} for i in [0, hs), j in order.
     */
    static void weighted1(float[] a, int ao, float[] v, int vo, int count, int hs, float[] out, int oo) {
        int i = 0;
        for (; i + 4 * L <= hs; i += 4 * L) {
            FloatVector o0 = FloatVector.fromArray(S, out, oo + i);
            FloatVector o1 = FloatVector.fromArray(S, out, oo + i + L);
            FloatVector o2 = FloatVector.fromArray(S, out, oo + i + 2 * L);
            FloatVector o3 = FloatVector.fromArray(S, out, oo + i + 3 * L);
            for (int j = 0, b = vo + i; j < count; j++, b += hs) {
                FloatVector av = FloatVector.broadcast(S, a[ao + j]);
                o0 = FloatVector.fromArray(S, v, b).fma(av, o0);
                o1 = FloatVector.fromArray(S, v, b + L).fma(av, o1);
                o2 = FloatVector.fromArray(S, v, b + 2 * L).fma(av, o2);
                o3 = FloatVector.fromArray(S, v, b + 3 * L).fma(av, o3);
            }
            o0.intoArray(out, oo + i);
            o1.intoArray(out, oo + i + L);
            o2.intoArray(out, oo + i + 2 * L);
            o3.intoArray(out, oo + i + 3 * L);
        }
        for (; i + L <= hs; i += L) {
            FloatVector o = FloatVector.fromArray(S, out, oo + i);
            for (int j = 0, b = vo + i; j < count; j++, b += hs) {
                o = FloatVector.fromArray(S, v, b).fma(FloatVector.broadcast(S, a[ao + j]), o);
            }
            o.intoArray(out, oo + i);
        }
        weightedTail(a, ao, v, vo, count, hs, out, oo, i);
    }

    /**
     * Four outputs of the same values, with weights {@code aN[ao + j]} into {@code outN[ooN, ooN + hs)}: each loaded
     * value vector feeds four multiply-adds.
     */
    static void weighted4(
            float[] a0,
            float[] a1,
            float[] a2,
            float[] a3,
            int ao,
            float[] v,
            int vo,
            int count,
            int hs,
            float[] out0,
            int oo0,
            float[] out1,
            int oo1,
            float[] out2,
            int oo2,
            float[] out3,
            int oo3) {
        int i = 0;
        for (; i + 2 * L <= hs; i += 2 * L) {
            int p0 = oo0 + i;
            int p1 = oo1 + i;
            int p2 = oo2 + i;
            int p3 = oo3 + i;
            FloatVector c0 = FloatVector.fromArray(S, out0, p0);
            FloatVector c1 = FloatVector.fromArray(S, out1, p1);
            FloatVector c2 = FloatVector.fromArray(S, out2, p2);
            FloatVector c3 = FloatVector.fromArray(S, out3, p3);
            FloatVector d0 = FloatVector.fromArray(S, out0, p0 + L);
            FloatVector d1 = FloatVector.fromArray(S, out1, p1 + L);
            FloatVector d2 = FloatVector.fromArray(S, out2, p2 + L);
            FloatVector d3 = FloatVector.fromArray(S, out3, p3 + L);
            for (int j = 0, b = vo + i; j < count; j++, b += hs) {
                FloatVector va = FloatVector.fromArray(S, v, b);
                FloatVector vb = FloatVector.fromArray(S, v, b + L);
                FloatVector w0 = FloatVector.broadcast(S, a0[ao + j]);
                c0 = va.fma(w0, c0);
                d0 = vb.fma(w0, d0);
                FloatVector w1 = FloatVector.broadcast(S, a1[ao + j]);
                c1 = va.fma(w1, c1);
                d1 = vb.fma(w1, d1);
                FloatVector w2 = FloatVector.broadcast(S, a2[ao + j]);
                c2 = va.fma(w2, c2);
                d2 = vb.fma(w2, d2);
                FloatVector w3 = FloatVector.broadcast(S, a3[ao + j]);
                c3 = va.fma(w3, c3);
                d3 = vb.fma(w3, d3);
            }
            c0.intoArray(out0, p0);
            c1.intoArray(out1, p1);
            c2.intoArray(out2, p2);
            c3.intoArray(out3, p3);
            d0.intoArray(out0, p0 + L);
            d1.intoArray(out1, p1 + L);
            d2.intoArray(out2, p2 + L);
            d3.intoArray(out3, p3 + L);
        }
        if (i < hs) {
            // The rest of the head (fewer than two vectors) one output at a time, in the same order per element.
            weightedFrom(a0, ao, v, vo, count, hs, out0, oo0, i);
            weightedFrom(a1, ao, v, vo, count, hs, out1, oo1, i);
            weightedFrom(a2, ao, v, vo, count, hs, out2, oo2, i);
            weightedFrom(a3, ao, v, vo, count, hs, out3, oo3, i);
        }
    }

    /** {@link #weighted1} for head elements [from, hs). */
    private static void weightedFrom(
            float[] a, int ao, float[] v, int vo, int count, int hs, float[] out, int oo, int from) {
        int i = from;
        for (; i + L <= hs; i += L) {
            FloatVector o = FloatVector.fromArray(S, out, oo + i);
            for (int j = 0, b = vo + i; j < count; j++, b += hs) {
                o = FloatVector.fromArray(S, v, b).fma(FloatVector.broadcast(S, a[ao + j]), o);
            }
            o.intoArray(out, oo + i);
        }
        weightedTail(a, ao, v, vo, count, hs, out, oo, i);
    }

    private static void weightedTail(
            float[] a, int ao, float[] v, int vo, int count, int hs, float[] out, int oo, int from) {
        for (int i = from; i < hs; i++) {
            float s = out[oo + i];
            for (int j = 0, b = vo + i; j < count; j++, b += hs) {
                s = Math.fma(v[b], a[ao + j], s);
            }
            out[oo + i] = s;
        }
    }
}
