package dev.tandem.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.engine.util.IntList;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Random operation sequences against {@link KvBlockManager}, checked after every operation against the pool
 * invariants and against a small reference model of the LRU free list and the prefix cache.
 */
class KvBlockManagerPropertyTest {

    private static final int BLOCK_SIZE = 2;
    private static final int TABLES = 4;
    private static final int MAX_BLOCKS = 6;

    /** One operation on the pool, applied to table {@code table}; inapplicable operations are skipped. */
    sealed interface Op {}

    /** Starts an empty table on content {@code content}, reusing at most {@code maxCached} cached blocks. */
    record Start(int table, int content, int maxCached) implements Op {}

    record Grow(int table, int blocks) implements Op {}

    /** Commits the table's next uncommitted full block. */
    record Commit(int table) implements Op {}

    record Free(int table) implements Op {}

    record Drain() implements Op {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Integer> table = Arbitraries.integers().between(0, TABLES - 1);
        Arbitrary<Op> start = Combinators.combine(
                        table,
                        Arbitraries.integers().between(0, 2),
                        Arbitraries.integers().between(0, MAX_BLOCKS))
                .as(Start::new);
        Arbitrary<Op> grow =
                Combinators.combine(table, Arbitraries.integers().between(1, 3)).as(Grow::new);
        Arbitrary<Op> commit = table.map(Commit::new);
        Arbitrary<Op> free = table.map(Free::new);
        Arbitrary<Op> drain = Arbitraries.just(new Drain());
        return Arbitraries.frequencyOf(
                        Tuple.of(3, start),
                        Tuple.of(4, grow),
                        Tuple.of(4, commit),
                        Tuple.of(2, free),
                        Tuple.of(1, drain))
                .list()
                .ofMaxSize(150);
    }

    /** Three contents of {@link #MAX_BLOCKS} blocks; block symbols in {0, 1} so that contents share prefixes. */
    @Provide
    Arbitrary<int[][]> contents() {
        return Arbitraries.integers()
                .between(0, 1)
                .array(int[].class)
                .ofSize(MAX_BLOCKS)
                .array(int[][].class)
                .ofSize(3);
    }

    @Property(tries = 400)
    void randomOperationSequencesKeepEveryPoolInvariant(
            @ForAll @IntRange(min = 1, max = 10) int totalBlocks,
            @ForAll("contents") int[][] contents,
            @ForAll("ops") List<Op> ops) {
        new Run(totalBlocks, contents).apply(ops);
    }

    @Property(tries = 200)
    void freedTablesAreEvictedTailFirstInFreeOrder(
            @ForAll @Size(min = 1, max = 4) List<@IntRange(min = 1, max = 4) Integer> tableSizes) {
        int total = tableSizes.stream().mapToInt(Integer::intValue).sum();
        KvBlockManager bm = new KvBlockManager(total, BLOCK_SIZE);
        List<IntList> tables = new ArrayList<>();
        long next = 1;
        List<Long> expected = new ArrayList<>();
        for (int size : tableSizes) {
            IntList t = new IntList();
            assertThat(bm.allocate(t, size)).isTrue();
            List<Long> chain = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                long h = next++;
                bm.commitFull(t.get(i), h, i == 0 ? null : h - 1);
                chain.add(h);
            }
            tables.add(t);
            // Freed in creation order: each table's blocks go tail first.
            for (int i = chain.size() - 1; i >= 0; i--) {
                expected.add(chain.get(i));
            }
        }
        bm.drainEvents("w", 1);
        for (IntList t : tables) {
            bm.free(t);
        }
        List<Long> evicted = new ArrayList<>();
        long eventId = 2;
        for (int i = 0; i < total; i++) {
            assertThat(bm.allocate(new IntList(), 1)).isTrue();
            KvEventBatch batch = bm.drainEvents("w", eventId++);
            assertThat(batch).isNotNull();
            for (KvEvent e : batch.events()) {
                assertThat(e).isInstanceOf(KvEvent.BlockRemoved.class);
                for (long h : ((KvEvent.BlockRemoved) e).blockHashes()) {
                    evicted.add(h);
                }
            }
        }
        assertThat(evicted).containsExactlyElementsOf(expected);
        assertThat(bm.cachedBlocks()).isZero();
    }

    /** One property run: the manager under test, the tables, the reference model and the replayed event stream. */
    private static final class Run {
        final KvBlockManager bm;
        final int total;
        final long[][] chainHashes;
        final IntList[] tables = new IntList[TABLES];
        final int[] contentOf = new int[TABLES];
        final int[] committed = new int[TABLES];

        // Reference model.
        final int[] modelRef;
        final ArrayDeque<Integer> modelLru = new ArrayDeque<>();
        final Map<Long, Integer> modelCache = new HashMap<>();
        final Map<Integer, Long> modelHashOf = new HashMap<>();
        final List<Long> expectedEvictions = new ArrayList<>();

        // What a router would know from the events alone.
        final Set<Long> replayed = new HashSet<>();
        long nextEventId = 1;

        Run(int total, int[][] contents) {
            this.total = total;
            this.bm = new KvBlockManager(total, BLOCK_SIZE);
            this.modelRef = new int[total];
            for (int b = 0; b < total; b++) {
                modelLru.addLast(b);
            }
            chainHashes = new long[contents.length][];
            for (int c = 0; c < contents.length; c++) {
                int[] tokens = new int[MAX_BLOCKS * BLOCK_SIZE];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = contents[c][i / BLOCK_SIZE];
                }
                chainHashes[c] = BlockHasher.unsalted().sequenceHashes(tokens, BLOCK_SIZE);
            }
            Arrays.fill(contentOf, -1);
            for (int t = 0; t < TABLES; t++) {
                tables[t] = new IntList();
            }
        }

        void apply(List<Op> ops) {
            for (Op op : ops) {
                switch (op) {
                    case Start s -> start(s);
                    case Grow g -> grow(g);
                    case Commit c -> commit(c.table());
                    case Free f -> free(f.table());
                    case Drain d -> drain();
                }
                checkInvariants();
            }
            drain();
            for (int t = 0; t < TABLES; t++) {
                free(t);
                checkInvariants();
            }
            drain();
            assertThat(bm.usedBlocks()).isZero();
            assertThat(bm.freeBlocks()).isEqualTo(total);
        }

        void start(Start s) {
            int t = s.table();
            if (contentOf[t] >= 0) {
                return;
            }
            long[] hashes = chainHashes[s.content()];
            int expected = 0;
            while (expected < Math.min(s.maxCached(), hashes.length) && modelCache.containsKey(hashes[expected])) {
                expected++;
            }
            int n = bm.cachedPrefixLength(hashes, s.maxCached());
            assertThat(n).as("cached prefix length").isEqualTo(expected);
            int expectedFree = 0;
            for (int i = 0; i < n; i++) {
                if (modelRef[modelCache.get(hashes[i])] == 0) {
                    expectedFree++;
                }
            }
            assertThat(bm.freeAmongCached(hashes, n)).isEqualTo(expectedFree);
            bm.acquireCached(tables[t], hashes, n);
            for (int i = 0; i < n; i++) {
                int b = modelCache.get(hashes[i]);
                assertThat(tables[t].get(i)).as("block of cached hash %d", i).isEqualTo(b);
                if (modelRef[b]++ == 0) {
                    modelLru.remove(b);
                }
            }
            contentOf[t] = s.content();
            committed[t] = n;
        }

        void grow(Grow g) {
            int t = g.table();
            if (contentOf[t] < 0) {
                return;
            }
            int k = Math.min(g.blocks(), MAX_BLOCKS - tables[t].size());
            if (k == 0) {
                return;
            }
            int sizeBefore = tables[t].size();
            int freeBefore = bm.freeBlocks();
            boolean ok = bm.allocate(tables[t], k);
            assertThat(ok).as("allocate %d with %d free", k, modelLru.size()).isEqualTo(k <= modelLru.size());
            if (!ok) {
                assertThat(tables[t].size()).isEqualTo(sizeBefore);
                assertThat(bm.freeBlocks()).isEqualTo(freeBefore);
                return;
            }
            for (int i = 0; i < k; i++) {
                int b = tables[t].get(sizeBefore + i);
                int expected = modelLru.pollFirst();
                assertThat(b)
                        .as("LRU order: the least recently freed block is reused first")
                        .isEqualTo(expected);
                assertThat(holders(b) - 1)
                        .as("block %d handed out while another table holds it", b)
                        .isZero();
                assertThat(modelRef[b]).isZero();
                Long old = modelHashOf.remove(b);
                if (old != null) {
                    modelCache.remove(old);
                    expectedEvictions.add(old);
                }
                modelRef[b] = 1;
            }
        }

        void commit(int t) {
            if (contentOf[t] < 0 || committed[t] >= tables[t].size()) {
                return;
            }
            int i = committed[t]++;
            long[] hashes = chainHashes[contentOf[t]];
            int b = tables[t].get(i);
            bm.commitFull(b, hashes[i], i == 0 ? null : hashes[i - 1]);
            if (!modelHashOf.containsKey(b) && !modelCache.containsKey(hashes[i])) {
                modelHashOf.put(b, hashes[i]);
                modelCache.put(hashes[i], b);
            }
        }

        void free(int t) {
            IntList table = tables[t];
            for (int i = table.size() - 1; i >= 0; i--) {
                int b = table.get(i);
                if (--modelRef[b] == 0) {
                    modelLru.addLast(b);
                }
            }
            bm.free(table);
            assertThat(table.isEmpty()).isTrue();
            contentOf[t] = -1;
            committed[t] = 0;
        }

        void drain() {
            KvEventBatch batch = bm.drainEvents("w", nextEventId);
            List<Long> removed = new ArrayList<>();
            if (batch != null) {
                assertThat(batch.eventId()).isEqualTo(nextEventId);
                assertThat(batch.events()).isNotEmpty();
                nextEventId++;
                for (KvEvent e : batch.events()) {
                    switch (e) {
                        case KvEvent.BlockStored s -> {
                            for (long h : s.blockHashes()) {
                                assertThat(replayed.add(h))
                                        .as("stored twice without removal")
                                        .isTrue();
                            }
                        }
                        case KvEvent.BlockRemoved r -> {
                            for (long h : r.blockHashes()) {
                                assertThat(replayed.remove(h))
                                        .as("removed without being stored")
                                        .isTrue();
                                removed.add(h);
                            }
                        }
                        case KvEvent.AllBlocksCleared c -> replayed.clear();
                    }
                }
            }
            assertThat(bm.hasPendingEvents()).isFalse();
            assertThat(removed).as("eviction order").containsExactlyElementsOf(expectedEvictions);
            expectedEvictions.clear();
            assertThat(replayed).as("events replayed == cachedHashes()").isEqualTo(cachedSet());
        }

        int holders(int block) {
            int n = 0;
            for (IntList t : tables) {
                for (int i = 0; i < t.size(); i++) {
                    if (t.get(i) == block) {
                        n++;
                    }
                }
            }
            return n;
        }

        Set<Long> cachedSet() {
            return Arrays.stream(bm.cachedHashes()).boxed().collect(Collectors.toSet());
        }

        void checkInvariants() {
            assertThat(bm.usedBlocks() + bm.freeBlocks())
                    .as("used + free == total")
                    .isEqualTo(total);
            int referenced = 0;
            for (int b = 0; b < total; b++) {
                int holders = holders(b);
                assertThat(bm.refCount(b))
                        .as("refCount(%d) == tables holding it", b)
                        .isEqualTo(holders);
                assertThat(bm.refCount(b)).isEqualTo(modelRef[b]);
                if (holders > 0) {
                    referenced++;
                    assertThat(modelLru)
                            .as("block %d is referenced and free", b)
                            .doesNotContain(b);
                }
            }
            assertThat(bm.usedBlocks()).as("used == referenced blocks").isEqualTo(referenced);
            assertThat(bm.freeBlocks()).as("free == unreferenced blocks").isEqualTo(total - referenced);
            assertThat(bm.cachedBlocks()).isEqualTo(modelCache.size());
            assertThat(cachedSet()).isEqualTo(modelCache.keySet());
            assertThat(bm.cachedHashes()).doesNotHaveDuplicates();
        }
    }
}
