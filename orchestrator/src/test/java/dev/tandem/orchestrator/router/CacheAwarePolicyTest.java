package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * {@code cache-aware} (SGLang's policy): the imbalance rule (max − min > 64 and max > 1.5 × min → least loaded),
 * the match-rate threshold (> 30% of the prompt's tokens), the longest match, and the record of what it routed.
 */
class CacheAwarePolicyTest {

    private static final int BS = 16;
    /** A 10-block prompt; other prompts share leading blocks of it. */
    private static final long[] P = LongStream.rangeClosed(101, 110).toArray();

    private static RoutingRequest req(String id, int tokens, long... hashes) {
        return new RoutingRequest(id, tokens, hashes, BS);
    }

    private static Candidate c(String id, int requests) {
        return new Candidate(id, 0, new ActiveLoad.WorkerLoad(requests, 0, 0));
    }

    /** Records {@code hashes} as routed to {@code worker} (the only candidate, so the policy must choose it). */
    private static void record(CacheAwarePolicy p, String worker, long... hashes) {
        assertThat(p.choose(req("seed-" + worker, hashes.length * BS, hashes), List.of(c(worker, 0))))
                .isZero();
    }

    private static long[] prefixOfP(int blocks, long firstOwnHash, int totalBlocks) {
        long[] h = new long[totalBlocks];
        for (int i = 0; i < totalBlocks; i++) {
            h[i] = i < blocks ? P[i] : firstOwnHash + i;
        }
        return h;
    }

    /** Where P goes when worker {@code cached} has all of P in the record, under the given loads. */
    private static String routeP(String cached, List<Candidate> cs) {
        CacheAwarePolicy p = new CacheAwarePolicy();
        record(p, cached, P);
        return cs.get(p.choose(req("r", 160, P), cs)).workerId();
    }

    @Test
    void anImbalancedClusterGoesToTheLeastLoadedWorkerWhateverTheRecord() {
        // max − min = 70 > 64 and 100 > 1.5 × 30: imbalanced.
        assertThat(routeP("a", List.of(c("a", 100), c("b", 30)))).isEqualTo("b");
        // max − min = 64, not above the absolute threshold: the record decides.
        assertThat(routeP("a", List.of(c("a", 94), c("b", 30)))).isEqualTo("a");
        // max − min = 66 > 64 but 200 ≤ 1.5 × 134 = 201: both conditions are needed.
        assertThat(routeP("a", List.of(c("a", 200), c("b", 134)))).isEqualTo("a");
        // 202 > 201 and 68 > 64: imbalanced.
        assertThat(routeP("a", List.of(c("a", 202), c("b", 134)))).isEqualTo("b");
    }

    @Test
    void imbalanceIsMeasuredOverTheWholeClusterNotTheCachedWorker() {
        // The cached worker b is moderately loaded; the spread between a (100) and c (30) makes the cluster
        // imbalanced, so the request goes to c.
        assertThat(routeP("b", List.of(c("a", 100), c("b", 60), c("c", 30)))).isEqualTo("c");
        // With a at 94 the spread is 64: balanced, so the record sends it to b.
        assertThat(routeP("b", List.of(c("a", 94), c("b", 60), c("c", 30)))).isEqualTo("b");
    }

    /** A fresh policy whose record holds P's first 4 blocks on a; a has one request in flight, b none. */
    private static int routeAgainstFourRecordedBlocks(int tokens, long... hashes) {
        CacheAwarePolicy p = new CacheAwarePolicy();
        record(p, "a", P[0], P[1], P[2], P[3]);
        return p.choose(req("r", tokens, hashes), List.of(c("a", 1), c("b", 0)));
    }

    @Test
    void aMatchAboveThirtyPercentOfThePromptTokensGoesToTheRecordedWorker() {
        long[] thirteen = prefixOfP(4, 500, 13);
        // 4 blocks × 16 = 64 tokens: 64 / 213 = 0.3005 > 0.3.
        assertThat(routeAgainstFourRecordedBlocks(213, thirteen)).isEqualTo(0);
        // 64 / 215 = 0.2977: below, so the least loaded, although 4 of the 13 full blocks (0.31) match. The rate
        // is in prompt tokens, partial last block included.
        assertThat(routeAgainstFourRecordedBlocks(215, thirteen)).isEqualTo(1);
    }

    @Test
    void aMatchOfExactlyThirtyPercentIsNotEnough() {
        // 3 blocks × 16 = 48 of 160 tokens = 0.3 exactly.
        assertThat(routeAgainstFourRecordedBlocks(160, prefixOfP(3, 600, 10))).isEqualTo(1);
        // 4 blocks: 0.4.
        assertThat(routeAgainstFourRecordedBlocks(160, prefixOfP(4, 600, 10))).isEqualTo(0);
        // 2 blocks: 0.2.
        assertThat(routeAgainstFourRecordedBlocks(160, prefixOfP(2, 600, 10))).isEqualTo(1);
    }

    @Test
    void theLongestMatchWinsOverShorterMatchesOnLessLoadedWorkers() {
        CacheAwarePolicy p = new CacheAwarePolicy();
        record(p, "a", P[0], P[1]);
        record(p, "b", P[0], P[1], P[2], P[3], P[4]);
        record(p, "c", P[0], P[1], P[2]);
        // Matches 2, 5 and 3 blocks; b is the most loaded but holds the longest prefix (80 / 160 = 0.5).
        List<Candidate> cs = List.of(c("a", 0), c("b", 3), c("c", 1));
        assertThat(p.choose(req("r", 160, P), cs)).isEqualTo(1);
    }

    @Test
    void theMatchStopsAtTheFirstBlockMissingFromTheRecord() {
        CacheAwarePolicy p = new CacheAwarePolicy();
        // b holds blocks 1 and 3..10 of P but not P[1]: only one leading block (0.1) matches there.
        record(p, "b", P[0], P[2], P[3], P[4], P[5], P[6], P[7], P[8], P[9]);
        assertThat(p.choose(req("r", 160, P), List.of(c("a", 0), c("b", 1)))).isEqualTo(0);
    }

    @Test
    void theRecordSendsARepeatedPromptBackToItsWorker() {
        CacheAwarePolicy p = new CacheAwarePolicy();
        // Nothing recorded yet: the least loaded worker.
        assertThat(p.choose(req("r1", 160, P), List.of(c("a", 1), c("b", 0)))).isEqualTo(1);
        // The same prompt again, now that b is the more loaded: back to b.
        assertThat(p.choose(req("r2", 160, P), List.of(c("a", 0), c("b", 1)))).isEqualTo(1);
        // A prompt sharing P's first 6 blocks (0.6) follows it there too.
        assertThat(p.choose(req("r3", 160, prefixOfP(6, 700, 10)), List.of(c("a", 0), c("b", 2))))
                .isEqualTo(1);
        // One sharing only 2 blocks (0.2) goes to the least loaded.
        assertThat(p.choose(req("r4", 160, prefixOfP(2, 800, 10)), List.of(c("a", 0), c("b", 3))))
                .isEqualTo(0);
    }

    @Test
    void theKvIndexOverlapIsIgnoredOnlyTheOwnRecordCounts() {
        CacheAwarePolicy p = new CacheAwarePolicy();
        List<Candidate> cs = List.of(
                new Candidate("a", 10, new ActiveLoad.WorkerLoad(1, 0, 0)),
                new Candidate("b", 0, new ActiveLoad.WorkerLoad(0, 0, 0)));
        assertThat(p.choose(req("r", 160, P), cs)).isEqualTo(1);
    }

    @Test
    void theRecordForgetsTheLeastRecentlyRoutedBlocksBeyondItsTokenBudget() {
        // 2^24 tokens per worker: with 4096-token blocks, 4096 blocks.
        int bs = 1 << 12;
        long[] prompt = {1, 2};
        List<Candidate> cs = List.of(c("a", 1), c("b", 0));
        for (int filler : new int[] {4094, 4095}) {
            CacheAwarePolicy p = new CacheAwarePolicy();
            p.choose(new RoutingRequest("first", 2 * bs, prompt, bs), List.of(c("a", 0)));
            long[] others = LongStream.range(1_000, 1_000 + filler).toArray();
            p.choose(new RoutingRequest("filler", filler * bs, others, bs), List.of(c("a", 0)));
            int chosen = p.choose(new RoutingRequest("again", 2 * bs, prompt, bs), cs);
            // 4094 + 2 blocks fit; one more evicts the prompt's first block, so nothing of it matches.
            assertThat(chosen).as("after %d filler blocks", filler).isEqualTo(filler == 4094 ? 0 : 1);
        }
    }
}
