package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KvIndexTest {

    private static KvEventBatch stored(String w, long id, long... hashes) {
        return new KvEventBatch(w, id, List.of(new KvEvent.BlockStored(null, hashes)));
    }

    private static KvEventBatch batch(String w, long id, KvEvent... events) {
        return new KvEventBatch(w, id, List.of(events));
    }

    @Test
    void blocksInALowerTierFollowThePrimaryPrefixAtTheirTiersWeight() {
        KvIndex index = new KvIndex();
        index.apply(batch(
                "a",
                1,
                new KvEvent.BlockStored(null, new long[] {10, 11}),
                new KvEvent.BlockStored(11L, new long[] {12, 13}, KvEvent.HOST),
                new KvEvent.BlockStored(13L, new long[] {14}, KvEvent.DISK)));
        index.apply(batch("b", 1, new KvEvent.BlockStored(null, new long[] {10, 11, 12}, KvEvent.DISK)));
        long[] prompt = {10, 11, 12, 13, 14, 15};
        Map<String, Integer> primary = index.overlaps(prompt, List.of("a", "b"));
        assertThat(primary).containsExactlyInAnyOrderEntriesOf(Map.of("a", 2));
        Map<String, Double> weights = Map.of(KvEvent.HOST, 0.9, KvEvent.DISK, 0.5);
        assertThat(index.tierHits(prompt, primary, List.of("a", "b"), weights))
                .containsExactlyInAnyOrderEntriesOf(Map.of("a", 0.9 + 0.9 + 0.5, "b", 1.5));
        assertThat(index.tierBlockCount("a", KvEvent.HOST)).isEqualTo(2);
        assertThat(index.blockCount("a")).isEqualTo(2);
    }

    @Test
    void aBlockLeavingThePrimaryCacheForATierIsStillLoadableAndARemovalInTheTierEndsIt() {
        KvIndex index = new KvIndex();
        index.apply(batch("a", 1, new KvEvent.BlockStored(null, new long[] {10})));
        index.apply(batch(
                "a",
                2,
                new KvEvent.BlockRemoved(new long[] {10}),
                new KvEvent.BlockStored(null, new long[] {10}, KvEvent.HOST)));
        long[] prompt = {10};
        Map<String, Double> weights = Map.of(KvEvent.HOST, 0.9);
        assertThat(index.overlaps(prompt, List.of("a"))).isEmpty();
        assertThat(index.tierHits(prompt, Map.of(), List.of("a"), weights)).containsEntry("a", 0.9);
        index.apply(batch("a", 3, new KvEvent.BlockRemoved(new long[] {10}, KvEvent.HOST)));
        assertThat(index.tierHits(prompt, Map.of(), List.of("a"), weights)).isEmpty();
        index.apply(batch("a", 4, new KvEvent.BlockStored(null, new long[] {10}, KvEvent.HOST)));
        index.apply(batch("a", 5, new KvEvent.AllBlocksCleared()));
        assertThat(index.tierBlockCount("a", KvEvent.HOST)).isZero();
    }

    @Test
    void overlapCountsLeadingBlocksEachWorkerHolds() {
        KvIndex index = new KvIndex();
        assertThat(index.apply(stored("a", 1, 10, 11, 12))).isTrue();
        assertThat(index.apply(stored("b", 1, 10))).isTrue();
        Map<String, Integer> o = index.overlaps(new long[] {10, 11, 12, 13}, List.of("a", "b", "c"));
        assertThat(o).containsExactlyInAnyOrderEntriesOf(Map.of("a", 3, "b", 1));
    }

    @Test
    void aHoleInTheChainEndsTheOverlap() {
        KvIndex index = new KvIndex();
        index.apply(stored("a", 1, 10, 12));
        assertThat(index.overlaps(new long[] {10, 11, 12}, List.of("a"))).containsEntry("a", 1);
    }

    @Test
    void removedBlocksStopMatching() {
        KvIndex index = new KvIndex();
        index.apply(stored("a", 1, 10, 11));
        index.apply(new KvEventBatch("a", 2, List.of(new KvEvent.BlockRemoved(new long[] {11}))));
        assertThat(index.overlaps(new long[] {10, 11}, List.of("a"))).containsEntry("a", 1);
        assertThat(index.blockCount("a")).isEqualTo(1);
    }

    @Test
    void aGapInEventIdsIsReportedAndNothingIsApplied() {
        KvIndex index = new KvIndex();
        index.apply(stored("a", 1, 10));
        assertThat(index.apply(stored("a", 3, 11))).isFalse();
        assertThat(index.blockCount("a")).isEqualTo(1);
        assertThat(index.apply(stored("b", 5, 11)))
                .as("first batch seen mid-stream")
                .isFalse();
    }

    @Test
    void resetFromADumpThenContinuesFromItsEventId() {
        KvIndex index = new KvIndex();
        index.reset(new KvStateDump("a", 7, new long[] {1, 2}));
        assertThat(index.apply(stored("a", 7, 99)))
                .as("already covered by the dump")
                .isTrue();
        assertThat(index.blockCount("a")).isEqualTo(2);
        assertThat(index.apply(stored("a", 8, 3))).isTrue();
        assertThat(index.blockCount("a")).isEqualTo(3);
    }

    @Test
    void routerResyncsAWorkerOnAGap() {
        Router router = new Router(new KvAwarePolicy());
        router.resyncOn(Runnable::run);
        router.onKvEvents(stored("a", 1, 10), w -> null);
        router.onKvEvents(stored("a", 5, 12), w -> new KvStateDump("a", 4, new long[] {10, 11}));
        assertThat(router.index().overlaps(new long[] {10, 11, 12}, List.of("a")))
                .containsEntry("a", 3);
    }

    @Test
    void departedWorkerIsForgotten() {
        KvIndex index = new KvIndex();
        index.apply(stored("a", 1, 10));
        index.removeWorker("a");
        assertThat(index.overlaps(new long[] {10}, List.of("a"))).isEmpty();
    }

    @Test
    void aWorkerRestartedUnderItsIdIsReadFromItsNewFirstBatch() {
        KvIndex index = new KvIndex();
        assertThat(index.apply(stored("a", 1, 10).withIncarnation(7))).isTrue();
        assertThat(index.apply(stored("a", 2, 11).withIncarnation(7))).isTrue();
        // the same instance id, a new process: its ids start at 1 again and its cache is empty
        assertThat(index.apply(stored("a", 1, 20).withIncarnation(8))).isTrue();
        assertThat(index.overlaps(new long[] {10}, List.of("a"))).doesNotContainKey("a");
        assertThat(index.overlaps(new long[] {20}, List.of("a"))).containsEntry("a", 1);
        assertThat(index.apply(stored("a", 2, 21).withIncarnation(8))).isTrue();
        assertThat(index.blockCount("a")).isEqualTo(2);
    }

    @Test
    @org.junit.jupiter.api.Timeout(30) // a re-sync on the calling thread would block here forever
    void aResyncRunsOffTheEventThreadAndItsWorkersLaterBatchesFollowIt() throws Exception {
        Router router = new Router(new KvAwarePolicy());
        java.util.concurrent.CountDownLatch dumpAsked = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.function.Function<String, KvStateDump> slowDump = w -> {
            dumpAsked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new KvStateDump("a", 4, new long[] {10, 11});
        };
        router.onKvEvents(stored("a", 1, 10), slowDump);
        router.onKvEvents(stored("a", 5, 12), slowDump); // a gap: a re-sync starts, and must not block this thread
        assertThat(dumpAsked.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        router.onKvEvents(stored("b", 1, 30), w -> null); // another worker's events go on meanwhile
        assertThat(router.index().overlaps(new long[] {30}, List.of("b"))).containsEntry("b", 1);
        router.onKvEvents(stored("a", 6, 13), slowDump); // waits for the dump
        release.countDown();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (router.index().blockCount("a") < 4 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(router.index().overlaps(new long[] {10, 11, 12, 13}, List.of("a")))
                .containsEntry("a", 4);
    }
}
