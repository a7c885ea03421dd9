package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Random in-order event streams of several workers (stored, removed, cleared) against a brute-force model: per
 * worker, the set of hashes it holds. Hashes are drawn from a few short chains ("documents") so that overlaps of
 * several blocks are common, plus strays.
 */
class KvIndexPropertyTest {

    private static final List<String> WORKERS = List.of("w0", "w1", "w2");
    /** Queried as a candidate; sent no event (but the gap property's first batch). */
    private static final String GHOST = "w9";

    private static final List<String> CANDIDATES = List.of("w0", "w1", "w2", GHOST);

    /** Three chains of 8 blocks: document d, position i → 100·d + i. */
    private static Arbitrary<long[]> chainSegment() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, 2),
                        // Most stored runs start a chain, as a prompt's blocks do; others continue one.
                        Arbitraries.frequencyOf(
                                Tuple.of(3, Arbitraries.just(0)),
                                Tuple.of(2, Arbitraries.integers().between(1, 7))),
                        Arbitraries.integers().between(1, 5))
                .as((doc, start, len) -> {
                    int n = Math.min(len, 8 - start);
                    long[] h = new long[n];
                    for (int i = 0; i < n; i++) {
                        h[i] = 100L * doc + start + i;
                    }
                    return h;
                });
    }

    /** Any block of any document, or 999 (never stored). */
    private static Arbitrary<Long> anyHash() {
        return Arbitraries.frequencyOf(
                Tuple.of(
                        12,
                        Combinators.combine(
                                        Arbitraries.integers().between(0, 2),
                                        Arbitraries.integers().between(0, 7))
                                .as((doc, i) -> 100L * doc + i)),
                Tuple.of(1, Arbitraries.just(999L)));
    }

    private static Arbitrary<long[]> strayHashes() {
        return anyHash()
                .list()
                .ofMinSize(1)
                .ofMaxSize(4)
                .map(l -> l.stream().mapToLong(Long::longValue).toArray());
    }

    private static Arbitrary<KvEvent> event() {
        return Arbitraries.frequencyOf(
                Tuple.of(
                        5, Arbitraries.oneOf(chainSegment(), strayHashes()).map(h -> new KvEvent.BlockStored(null, h))),
                Tuple.of(3, Arbitraries.oneOf(chainSegment(), strayHashes()).map(KvEvent.BlockRemoved::new)),
                Tuple.of(1, Arbitraries.just(new KvEvent.AllBlocksCleared())));
    }

    /** A batch's worker and events; event ids are assigned in order when the stream is replayed. */
    record Step(int worker, List<KvEvent> events) {}

    @Provide
    Arbitrary<List<Step>> streams() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, WORKERS.size() - 1),
                        event().list().ofMinSize(0).ofMaxSize(3))
                .as(Step::new)
                .list()
                .ofMinSize(4)
                .ofMaxSize(30);
    }

    /** Queries: a document's prefix, sometimes followed by strays. */
    @Provide
    Arbitrary<List<long[]>> queries() {
        Arbitrary<long[]> q = Combinators.combine(
                        Arbitraries.integers().between(0, 2),
                        Arbitraries.integers().between(1, 8),
                        anyHash().list().ofMaxSize(2))
                .as((doc, len, tail) -> {
                    long[] h = new long[len + tail.size()];
                    for (int i = 0; i < len; i++) {
                        h[i] = 100L * doc + i;
                    }
                    for (int i = 0; i < tail.size(); i++) {
                        h[len + i] = tail.get(i);
                    }
                    return h;
                });
        return q.list().ofMinSize(3).ofMaxSize(6);
    }

    /** The model: what each worker holds, and the batches applied so far (for event ids). */
    private static final class Model {
        final Map<String, Set<Long>> held = new HashMap<>();
        final Map<String, Long> lastId = new HashMap<>();

        void apply(String w, List<KvEvent> events) {
            Set<Long> s = held.computeIfAbsent(w, k -> new HashSet<>());
            for (KvEvent e : events) {
                switch (e) {
                    case KvEvent.BlockStored st -> {
                        for (long h : st.blockHashes()) {
                            s.add(h);
                        }
                    }
                    case KvEvent.BlockRemoved r -> {
                        for (long h : r.blockHashes()) {
                            s.remove(h);
                        }
                    }
                    case KvEvent.AllBlocksCleared c -> s.clear();
                }
            }
            lastId.merge(w, 1L, Long::sum);
        }

        long nextId(String w) {
            return lastId.getOrDefault(w, 0L) + 1;
        }

        Map<String, Integer> overlaps(long[] query, List<String> candidates) {
            Map<String, Integer> out = new HashMap<>();
            for (String w : candidates) {
                Set<Long> s = held.getOrDefault(w, Set.of());
                int n = 0;
                while (n < query.length && s.contains(query[n])) {
                    n++;
                }
                if (n > 0) {
                    out.put(w, n);
                }
            }
            return out;
        }
    }

    private static void assertAgrees(KvIndex index, Model model, List<long[]> queries, String when) {
        for (long[] q : queries) {
            assertThat(index.overlaps(q, CANDIDATES))
                    .as("%s, overlaps of %s", when, java.util.Arrays.toString(q))
                    .isEqualTo(model.overlaps(q, CANDIDATES));
            // A subset of candidates sees only its members.
            assertThat(index.overlaps(q, List.of("w1", GHOST)))
                    .as("%s, overlaps of %s among w1", when, java.util.Arrays.toString(q))
                    .isEqualTo(model.overlaps(q, List.of("w1", GHOST)));
        }
        for (String w : CANDIDATES) {
            assertThat(index.blockCount(w))
                    .as("%s, blocks of %s", when, w)
                    .isEqualTo(model.held.getOrDefault(w, Set.of()).size());
        }
    }

    @Property(tries = 300)
    void theIndexAgreesWithPerWorkerSetsAfterEveryBatch(
            @ForAll("streams") List<Step> stream, @ForAll("queries") List<long[]> queries) {
        KvIndex index = new KvIndex();
        Model model = new Model();
        boolean deep = false;
        for (int i = 0; i < stream.size(); i++) {
            Step s = stream.get(i);
            String w = WORKERS.get(s.worker());
            assertThat(index.apply(new KvEventBatch(w, model.nextId(w), s.events())))
                    .as("batch %d accepted", i)
                    .isTrue();
            model.apply(w, s.events());
            assertAgrees(index, model, queries, "after batch " + i);
            deep |= queries.stream()
                    .anyMatch(
                            q -> model.overlaps(q, CANDIDATES).values().stream().anyMatch(n -> n >= 3));
        }
        // The generator must keep producing multi-block overlaps, or the comparison proves little.
        Statistics.label("an overlap of 3+ blocks").collect(deep);
        Statistics.label("an overlap of 3+ blocks").coverage(c -> c.check(true).percentage(p -> p >= 30));
    }

    @Property(tries = 200)
    void aSkippedEventIdIsRefusedAndChangesNothing(
            @ForAll("streams") List<Step> stream,
            @ForAll("queries") List<long[]> queries,
            @ForAll @IntRange(min = 0, max = 3) int target,
            @ForAll @IntRange(min = 1, max = 4) int skipped) {
        KvIndex index = new KvIndex();
        Model model = new Model();
        List<KvEventBatch> applied = new ArrayList<>();
        for (Step s : stream) {
            String w = WORKERS.get(s.worker());
            KvEventBatch b = new KvEventBatch(w, model.nextId(w), s.events());
            index.apply(b);
            applied.add(b);
            model.apply(w, s.events());
        }
        // target 3 is a worker never heard from: its first batch must have id 1.
        String w = target < WORKERS.size() ? WORKERS.get(target) : GHOST;
        List<KvEvent> payload =
                List.of(new KvEvent.AllBlocksCleared(), new KvEvent.BlockStored(null, new long[] {0, 1, 2, 100, 200}));
        long next = model.nextId(w);
        assertThat(index.apply(new KvEventBatch(w, next + skipped, payload))).isFalse();
        assertAgrees(index, model, queries, "after a refused batch");

        // A batch already applied (a duplicate delivery) is acknowledged and applies nothing again.
        for (KvEventBatch old : applied) {
            assertThat(index.apply(new KvEventBatch(old.workerId(), old.eventId(), payload)))
                    .isTrue();
        }
        assertAgrees(index, model, queries, "after duplicates");

        // The refusal did not move the worker's event id: the true successor still applies.
        assertThat(index.apply(new KvEventBatch(w, next, payload))).isTrue();
        model.apply(w, payload);
        assertAgrees(index, model, queries, "after the successor");
    }
}
