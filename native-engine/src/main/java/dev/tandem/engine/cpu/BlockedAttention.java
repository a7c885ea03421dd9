package dev.tandem.engine.cpu;

import dev.tandem.engine.model.LlamaConfig;
import java.util.Arrays;

/**
 * Causal attention of a micro-batch's positions over the paged KV store, many queries at a time: the queries of a
 * work item are up to {@link #QUERY_BLOCK} consecutive positions of one sequence (a prefill chunk; a decode position
 * is a block of one) times the query heads that share one KV head (grouped-query attention), and up to
 * {@link #QUERY_BLOCK} of them at a time share every key and value they load, where one query at a time read each
 * of them once per position and head.
 *
 * <p>Per chunk of queries: the scores against every key up to the chunk's last position (a query's scores past its
 * own position are computed and ignored), each query's softmax over its own positions, then the values' weighted
 * sum, four queries at a time over the keys all of them see and one at a time over the rest. {@link
 * AttentionKernels} gives every output the same operations in whichever kernel computes it, so the result does not
 * depend on the blocking or the grouping.
 */
final class BlockedAttention {

    /** Queries that share loaded keys and values. */
    static final int QUERY_BLOCK = 8;

    private final PagedKvStore kv;
    private final int kvHeads;
    private final int group;
    private final int hs;
    private final int bs;
    private final float scale;
    /** Score rows per compute thread: {@code [part][query][key]}, long enough for a whole last key vector. */
    private final float[][][] rows;

    /** Per compute thread, the queries of the chunk in hand: their arrays, head offset and lengths. */
    private final float[][][] chunkQ;

    private final float[][][] chunkOut;
    private final int[][] chunkOffset;
    private final int[][] chunkLen;

    private final int[] blockStart;
    /** The first work item of each query block (and the item count after the last). */
    private final int[] firstItem;

    private final int[] blockLength;
    private int blocks;

    BlockedAttention(PagedKvStore kv, LlamaConfig c, int threads, int microBatch) {
        this.kv = kv;
        this.kvHeads = c.kvHeads();
        this.group = c.groupSize();
        this.hs = c.headDim();
        this.bs = kv.blockSize;
        this.scale = (float) (1.0 / Math.sqrt(hs));
        int l = AttentionKernels.lanes();
        int rowLength = (c.contextLength() + bs + l) / l * l + l;
        this.rows = new float[threads][QUERY_BLOCK][rowLength];
        this.chunkQ = new float[threads][QUERY_BLOCK][];
        this.chunkOut = new float[threads][QUERY_BLOCK][];
        this.chunkOffset = new int[threads][QUERY_BLOCK];
        this.chunkLen = new int[threads][QUERY_BLOCK];
        this.blockStart = new int[microBatch];
        this.blockLength = new int[microBatch];
        this.firstItem = new int[microBatch + 1];
    }

    /**
     * Groups positions [0, n) into query blocks (consecutive positions of one block table) and returns the work items
     * for {@link #run}: for each query block and KV head, its chunks of queries (fine items keep both threads busy
     * to the end of a layer's attention).
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
        int items = 0;
        for (int b = 0; b < blocks; b++) {
            firstItem[b] = items;
            items += kvHeads * chunks(b);
        }
        firstItem[blocks] = items;
        return items;
    }

    /** Chunks of at most {@link #QUERY_BLOCK} queries per KV head of block {@code b}. */
    private int chunks(int b) {
        return (blockLength[b] * group + QUERY_BLOCK - 1) / QUERY_BLOCK;
    }

    /**
     * Attention for work items [from, to) of the last {@link #plan}: queries {@code q[t]}, keys and values of
     * {@code layer}, each position's heads into {@code out[t]}.
     */
    void run(int part, int from, int to, int layer, float[][] q, float[][] out, int[] positions, int[][] tables) {
        float[][] r = rows[part];
        float[] keys = kv.keys[layer];
        float[] values = kv.values[layer];
        float[][] cq = chunkQ[part];
        float[][] co = chunkOut[part];
        int[] off = chunkOffset[part];
        int[] len = chunkLen[part];
        int qb = 0;
        for (int item = from; item < to; item++) {
            while (firstItem[qb + 1] <= item) {
                qb++;
            }
            int per = chunks(qb);
            int kvh = (item - firstItem[qb]) / per;
            int c0 = (item - firstItem[qb] - kvh * per) * QUERY_BLOCK;
            int t0 = blockStart[qb];
            int[] table = tables[t0];
            int nq = blockLength[qb];
            // Head-major: a prefill block's chunk is one head's positions (the lengths a prefill block needs), a
            // decode position's chunk is the query heads of its KV head (which then read its keys once, not once
            // per head: ~12% faster batch-1 decode at 2k context with four heads per KV head).
            int n = Math.min(QUERY_BLOCK, nq * group - c0);
            for (int i = 0; i < n; i++) {
                int query = c0 + i;
                int t = t0 + query % nq;
                cq[i] = q[t];
                co[i] = out[t];
                off[i] = (kvh * group + query / nq) * hs;
                len[i] = positions[t] + 1;
            }
            chunk(n, cq, co, off, len, keys, values, table, kvh, r);
        }
    }

    /** Attention of {@code n} queries that share KV head {@code kvh}. */
    private void chunk(
            int n,
            float[][] cq,
            float[][] co,
            int[] off,
            int[] len,
            float[] keys,
            float[] values,
            int[] table,
            int kvh,
            float[][] r) {
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            int longest = Math.max(Math.max(len[i], len[i + 1]), Math.max(len[i + 2], len[i + 3]));
            scores4(cq, off, i, keys, table, kvh, longest, r);
        }
        for (; i < n; i++) {
            scores1(cq[i], off[i], keys, table, kvh, len[i], r[i]);
        }
        VectorOps.softmaxRows(r, len, n);
        for (i = 0; i < n; i++) {
            Arrays.fill(co[i], off[i], off[i] + hs, 0f);
        }
        i = 0;
        for (; i + 4 <= n; i += 4) {
            int common = Math.min(Math.min(len[i], len[i + 1]), Math.min(len[i + 2], len[i + 3]));
            weighted4(r, co, off, i, values, table, kvh, common);
            for (int k = 0; k < 4; k++) {
                weighted1(r[i + k], values, table, kvh, common, len[i + k], co[i + k], off[i + k]);
            }
        }
        for (; i < n; i++) {
            weighted1(r[i], values, table, kvh, 0, len[i], co[i], off[i]);
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

    /** Scores of queries i..i + 3 ({@code cq}, head offsets {@code off}) against keys [0, len), into {@code r}. */
    private void scores4(float[][] cq, int[] off, int i, float[] keys, int[] table, int kvh, int len, float[][] r) {
        int l = AttentionKernels.lanes();
        if (bs % l != 0) {
            for (int k = i; k < i + 4; k++) {
                scores1(cq[k], off[k], keys, table, kvh, len, r[k]);
            }
            return;
        }
        int vectors = (len + l - 1) / l;
        int m = 0;
        for (; m + 2 <= vectors; m += 2) {
            AttentionKernels.scores4x2(
                    cq[i],
                    off[i],
                    cq[i + 1],
                    off[i + 1],
                    cq[i + 2],
                    off[i + 2],
                    cq[i + 3],
                    off[i + 3],
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
                    cq[i],
                    off[i],
                    cq[i + 1],
                    off[i + 1],
                    cq[i + 2],
                    off[i + 2],
                    cq[i + 3],
                    off[i + 3],
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

    /** Adds the values of keys [0, len) to the head outputs of queries i..i + 3, weighted by their rows. */
    private void weighted4(float[][] r, float[][] co, int[] off, int i, float[] values, int[] table, int kvh, int len) {
        for (int p = 0; p < len; ) {
            int b = p / bs;
            int count = Math.min(bs, len - p);
            AttentionKernels.weighted4(
                    r[i],
                    r[i + 1],
                    r[i + 2],
                    r[i + 3],
                    p,
                    values,
                    kv.blockBase(table[b], kvh),
                    count,
                    hs,
                    co[i],
                    off[i],
                    co[i + 1],
                    off[i + 1],
                    co[i + 2],
                    off[i + 2],
                    co[i + 3],
                    off[i + 3]);
            p += count;
        }
    }
}
