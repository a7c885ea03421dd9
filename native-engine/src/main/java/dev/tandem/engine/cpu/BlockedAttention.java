package dev.tandem.engine.cpu;

import dev.tandem.engine.model.LlamaConfig;
import java.util.Arrays;

/**
 * Causal attention of a micro-batch's positions over the paged KV store, a block of queries at a time: up to
 * {@link #QUERY_BLOCK} consecutive positions of one sequence (a prefill chunk) share every key and value they load,
 * where one query at a time read each of them once per position. A decode position is a block of one.
 *
 * <p>Per (query block, head): the scores against every key up to the block's last position (a query's scores past
 * its own position are computed and ignored), each query's softmax over its own positions, then the values' weighted
 * sum, four queries at a time over the keys all of them see and one at a time over the rest. {@link
 * AttentionKernels} gives every output the same operations in whichever kernel computes it, so the result does not
 * depend on the blocking.
 */
final class BlockedAttention {

    /** Queries that share loaded keys and values. */
    static final int QUERY_BLOCK = 8;

    private final PagedKvStore kv;
    private final int heads;
    private final int group;
    private final int hs;
    private final int bs;
    private final float scale;
    /** Score rows per compute thread: {@code [part][query][key]}, long enough for a whole last key vector. */
    private final float[][][] rows;

    private final int[] blockStart;
    private final int[] blockLength;
    private int blocks;

    BlockedAttention(PagedKvStore kv, LlamaConfig c, int threads, int microBatch) {
        this.kv = kv;
        this.heads = c.heads();
        this.group = c.groupSize();
        this.hs = c.headDim();
        this.bs = kv.blockSize;
        this.scale = (float) (1.0 / Math.sqrt(hs));
        int l = AttentionKernels.lanes();
        int rowLength = (c.contextLength() + bs + l) / l * l + l;
        this.rows = new float[threads][QUERY_BLOCK][rowLength];
        this.blockStart = new int[microBatch];
        this.blockLength = new int[microBatch];
    }

    /**
     * Groups positions [0, n) into query blocks (consecutive positions of one block table) and returns the work items
     * for {@link #run}: query blocks × heads.
     */
    int plan(int n, int[] positions, int[][] tables) {
        blocks = 0;
        for (int t = 0; t < n; t++) {
            int b = blocks - 1;
            if (b >= 0
                    && blockLength[b] < QUERY_BLOCK
                    && tables[t] == tables[t - 1]
                    && positions[t] == positions[t - 1] + 1) {
                blockLength[b]++;
            } else {
                blockStart[blocks] = t;
                blockLength[blocks] = 1;
                blocks++;
            }
        }
        return blocks * heads;
    }

    /**
     * Attention for work items [from, to) of the last {@link #plan}: queries {@code q[t]}, keys and values of
     * {@code layer}, each position's heads into {@code out[t]}.
     */
    void run(int part, int from, int to, int layer, float[][] q, float[][] out, int[] positions, int[][] tables) {
        float[][] r = rows[part];
        float[] keys = kv.keys[layer];
        float[] values = kv.values[layer];
        for (int item = from; item < to; item++) {
            int qb = item / heads;
            int h = item - qb * heads;
            int t0 = blockStart[qb];
            int nq = blockLength[qb];
            int[] table = tables[t0];
            int kvh = h / group;
            int qo = h * hs;
            int len0 = positions[t0] + 1;
            int i = 0;
            for (; i + 4 <= nq; i += 4) {
                scores4(
                        q[t0 + i],
                        q[t0 + i + 1],
                        q[t0 + i + 2],
                        q[t0 + i + 3],
                        qo,
                        keys,
                        table,
                        kvh,
                        len0 + i + 3,
                        r,
                        i);
            }
            for (; i < nq; i++) {
                scores1(q[t0 + i], qo, keys, table, kvh, len0 + i, r[i]);
            }
            VectorOps.softmaxRows(r, nq, len0);
            for (i = 0; i < nq; i++) {
                Arrays.fill(out[t0 + i], qo, qo + hs, 0f);
            }
            i = 0;
            for (; i + 4 <= nq; i += 4) {
                int common = len0 + i;
                weighted4(r[i], r[i + 1], r[i + 2], r[i + 3], values, table, kvh, common, out, t0 + i, qo);
                for (int k = 1; k < 4; k++) {
                    weighted1(r[i + k], values, table, kvh, common, len0 + i + k, out[t0 + i + k], qo);
                }
            }
            for (; i < nq; i++) {
                weighted1(r[i], values, table, kvh, 0, len0 + i, out[t0 + i], qo);
            }
        }
    }

    /** Scores of one query against keys [0, len), into {@code row}. */
    private void scores1(float[] q, int qo, float[] keys, int[] table, int kvh, int len, float[] row) {
        int l = AttentionKernels.lanes();
        if (bs % l != 0) {
            for (int p = 0; p < len; p++) {
                row[p] = AttentionKernels.score(q, qo, keys, keySlot(table, kvh, p), bs, hs, scale);
            }
            return;
        }
        int vectors = (len + l - 1) / l;
        int m = 0;
        for (; m + 4 <= vectors; m += 4) {
            AttentionKernels.scores1x4(
                    q,
                    qo,
                    keys,
                    keySlot(table, kvh, m * l),
                    keySlot(table, kvh, (m + 1) * l),
                    keySlot(table, kvh, (m + 2) * l),
                    keySlot(table, kvh, (m + 3) * l),
                    bs,
                    hs,
                    scale,
                    row,
                    m * l,
                    (m + 1) * l,
                    (m + 2) * l,
                    (m + 3) * l);
        }
        for (; m < vectors; m++) {
            AttentionKernels.scores1x1(q, qo, keys, keySlot(table, kvh, m * l), bs, hs, scale, row, m * l);
        }
    }

    /** Scores of four queries against keys [0, len), into {@code r[i..i + 3]}. */
    private void scores4(
            float[] q0,
            float[] q1,
            float[] q2,
            float[] q3,
            int qo,
            float[] keys,
            int[] table,
            int kvh,
            int len,
            float[][] r,
            int i) {
        int l = AttentionKernels.lanes();
        if (bs % l != 0) {
            scores1(q0, qo, keys, table, kvh, len, r[i]);
            scores1(q1, qo, keys, table, kvh, len, r[i + 1]);
            scores1(q2, qo, keys, table, kvh, len, r[i + 2]);
            scores1(q3, qo, keys, table, kvh, len, r[i + 3]);
            return;
        }
        int vectors = (len + l - 1) / l;
        int m = 0;
        for (; m + 2 <= vectors; m += 2) {
            AttentionKernels.scores4x2(
                    q0,
                    q1,
                    q2,
                    q3,
                    qo,
                    keys,
                    keySlot(table, kvh, m * l),
                    keySlot(table, kvh, (m + 1) * l),
                    bs,
                    hs,
                    scale,
                    r[i],
                    r[i + 1],
                    r[i + 2],
                    r[i + 3],
                    m * l,
                    (m + 1) * l);
        }
        if (m < vectors) {
            AttentionKernels.scores4x1(
                    q0,
                    q1,
                    q2,
                    q3,
                    qo,
                    keys,
                    keySlot(table, kvh, m * l),
                    bs,
                    hs,
                    scale,
                    r[i],
                    r[i + 1],
                    r[i + 2],
                    r[i + 3],
                    m * l);
        }
    }

    /** Where key {@code p}'s first element lies: its block's transposed run, plus its slot. */
    private int keySlot(int[] table, int kvh, int p) {
        return kv.blockBase(table[p / bs], kvh) + p % bs;
    }

    /** Adds the values of keys [from, to), weighted by {@code a}, to one query's head output. */
    private void weighted1(float[] a, float[] values, int[] table, int kvh, int from, int to, float[] out, int oo) {
        for (int p = from; p < to; ) {
            int b = p / bs;
            int slot = p - b * bs;
            int count = Math.min(bs - slot, to - p);
            AttentionKernels.weighted1(a, p, values, kv.blockBase(table[b], kvh) + slot * hs, count, hs, out, oo);
            p += count;
        }
    }

    /** Adds the values of keys [0, len) to four queries' head outputs ({@code out[t..t + 3]}). */
    private void weighted4(
            float[] a0,
            float[] a1,
            float[] a2,
            float[] a3,
            float[] values,
            int[] table,
            int kvh,
            int len,
            float[][] out,
            int t,
            int oo) {
        for (int p = 0; p < len; ) {
            int b = p / bs;
            int count = Math.min(bs, len - p);
            AttentionKernels.weighted4(
                    a0,
                    a1,
                    a2,
                    a3,
                    p,
                    values,
                    kv.blockBase(table[b], kvh),
                    count,
                    hs,
                    out[t],
                    out[t + 1],
                    out[t + 2],
                    out[t + 3],
                    oo);
            p += count;
        }
    }
}
