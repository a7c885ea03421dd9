package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.engine.model.LlamaConfig;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Attention over the paged store in blocks of queries: equal to a float64 computation, and bit for bit the same
 * whether a position is computed alone (decode), inside a prefill block, or with other sequences in its micro-batch.
 */
class BlockedAttentionTest {

    private static final int CONTEXT = 160;

    /** A store holding one sequence of {@code len} random positions in shuffled blocks, and its queries. */
    private record Fixture(LlamaConfig config, PagedKvStore kv, int[] table, float[][] q) {}

    private static Fixture fixture(SplittableRandom r, int bs, int hs, int heads, int kvHeads, int len) {
        LlamaConfig c = new LlamaConfig(heads * hs, 8, 1, heads, kvHeads, 16, CONTEXT, hs, 10000, 1e-5f, false, 1, 2);
        int blocks = CONTEXT / bs + 3;
        PagedKvStore kv = new PagedKvStore(1, blocks, bs, kvHeads, hs);
        int[] table = new int[(len + bs - 1) / bs];
        int[] free = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            free[i] = i;
        }
        for (int i = blocks - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = free[i];
            free[i] = free[j];
            free[j] = t;
        }
        System.arraycopy(free, 0, table, 0, table.length);
        // Stale data in every slot first, as a reused block has.
        for (int b = 0; b < blocks; b++) {
            for (int s = 0; s < bs; s++) {
                kv.writeKey(0, new int[] {b}, s, random(r, kvHeads * hs, 9));
            }
        }
        float[][] q = new float[len][];
        for (int p = 0; p < len; p++) {
            kv.writeKey(0, table, p, random(r, kvHeads * hs, 1));
            kv.writeValue(0, table, p, random(r, kvHeads * hs, 1));
            q[p] = random(r, heads * hs, 2);
        }
        return new Fixture(c, kv, table, q);
    }

    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** Positions {@code pos[i]} of sequences {@code tables[i]} through one micro-batch; their outputs. */
    private static float[][] attend(Fixture f, int[] pos, int[][] tables, float[][][] queries) {
        int n = pos.length;
        BlockedAttention a = new BlockedAttention(f.kv(), f.config(), 1, n);
        float[][] q = new float[n][];
        float[][] out = new float[n][f.config().heads() * f.config().headDim()];
        for (int i = 0; i < n; i++) {
            q[i] = queries[i] == null ? f.q()[pos[i]] : queries[i][pos[i]];
        }
        int items = a.plan(n, pos, tables);
        a.run(0, 0, items, 0, q, out, pos, tables);
        return out;
    }

    private static float[][] chunk(Fixture f, int start, int count) {
        int[] pos = new int[count];
        int[][] tables = new int[count][];
        for (int i = 0; i < count; i++) {
            pos[i] = start + i;
            tables[i] = f.table();
        }
        return attend(f, pos, tables, new float[count][][]);
    }

    /** Keys as written: reads them back through the store's wire order (head, slot, element). */
    private static double[] expected(Fixture f, int p, int h) {
        LlamaConfig c = f.config();
        int hs = c.headDim();
        int bs = f.kv().blockSize;
        int kvh = h / c.groupSize();
        int run = c.kvHeads() * bs * hs;
        double[] scores = new double[p + 1];
        double max = Double.NEGATIVE_INFINITY;
        float[][] keys = new float[p + 1][hs];
        float[][] values = new float[p + 1][hs];
        for (int j = 0; j <= p; j++) {
            MemorySegment m = MemorySegment.ofArray(new float[2 * run]);
            f.kv().readBlockLayer(f.table()[j / bs], 0, m);
            float[] block = m.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            int at = (kvh * bs + j % bs) * hs;
            System.arraycopy(block, at, keys[j], 0, hs);
            System.arraycopy(block, run + at, values[j], 0, hs);
            double s = 0;
            for (int d = 0; d < hs; d++) {
                s += (double) f.q()[p][h * hs + d] * keys[j][d];
            }
            scores[j] = s / Math.sqrt(hs);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j <= p; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[hs];
        for (int j = 0; j <= p; j++) {
            for (int d = 0; d < hs; d++) {
                out[d] += scores[j] / sum * values[j][d];
            }
        }
        return out;
    }

    @Property(tries = 60)
    void aPrefillBlockEqualsAttentionInDoublePrecision(
            @ForAll("blockSizes") int bs,
            @ForAll("headDims") int hs,
            @ForAll @IntRange(min = 1, max = 60) int start,
            @ForAll @IntRange(min = 1, max = 8) int count,
            @ForAll("groupings") int[] heads,
            @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Fixture f = fixture(r, bs, hs, heads[0], heads[1], start + count);
        float[][] out = chunk(f, start, count);
        for (int i = 0; i < count; i++) {
            for (int h = 0; h < heads[0]; h++) {
                double[] want = expected(f, start + i, h);
                for (int d = 0; d < hs; d++) {
                    assertThat((double) out[i][h * hs + d]).isCloseTo(want[d], within(2e-5));
                }
            }
        }
    }

    @Property(tries = 60)
    void aPositionAloneInABlockOrBesideOtherSequencesGivesTheSameBits(
            @ForAll("blockSizes") int bs,
            @ForAll("headDims") int hs,
            @ForAll @IntRange(min = 0, max = 100) int start,
            @ForAll @IntRange(min = 1, max = 30) int count,
            @ForAll("groupings") int[] heads,
            @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Fixture f = fixture(r, bs, hs, heads[0], heads[1], start + count);
        float[][] block = chunk(f, start, count);
        for (int i = 0; i < count; i++) {
            float[][] alone = chunk(f, start + i, 1);
            assertThat(alone[0]).as("position %d", start + i).isEqualTo(block[i]);
        }
        // A decode position of another sequence (its own table array and queries), then the chunk's first
        // positions, in one micro-batch: a decode step with a prefill chunk beside it.
        int[] pos = new int[Math.min(count, 3) + 1];
        int[][] tables = new int[pos.length][];
        float[][][] queries = new float[pos.length][][];
        pos[0] = start + count - 1;
        tables[0] = f.table().clone();
        queries[0] = new float[start + count][];
        queries[0][pos[0]] = random(r, heads[0] * hs, 2);
        for (int i = 1; i < pos.length; i++) {
            pos[i] = start + i - 1;
            tables[i] = f.table();
        }
        float[][] mixed = attend(f, pos, tables, queries);
        for (int i = 1; i < pos.length; i++) {
            assertThat(mixed[i]).as("position %d beside a decode", pos[i]).isEqualTo(block[i - 1]);
        }
    }

    /** (query heads, KV heads): grouped-query attention with groups of 2, 3, 4 and 8, and plain multi-head. */
    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<int[]> groupings() {
        return net.jqwik.api.Arbitraries.of(
                new int[] {4, 2}, new int[] {6, 3}, new int[] {8, 2}, new int[] {3, 3}, new int[] {16, 2});
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Integer> blockSizes() {
        return net.jqwik.api.Arbitraries.of(16, 32, 8, 5);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Integer> headDims() {
        return net.jqwik.api.Arbitraries.of(64, 48, 24, 8, 128);
    }
}
