package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The seeded baselines: {@code random} and {@code power-of-two}. Their seeds are fixed, so the frequency checks are
 * deterministic; the tolerances are several standard deviations wide all the same.
 */
class RandomizedPolicyTest {

    private static final RoutingRequest REQ = new RoutingRequest("r", 160, new long[10], 16);

    private static Candidate c(String id, int overlap, int requests) {
        return new Candidate(id, overlap, new ActiveLoad.WorkerLoad(requests, requests * 3L, requests * 100L));
    }

    private static int[] counts(RoutingPolicy p, List<Candidate> cs, int draws) {
        int[] n = new int[cs.size()];
        for (int i = 0; i < draws; i++) {
            n[p.choose(REQ, cs)]++;
        }
        return n;
    }

    private static List<Integer> choices(RoutingPolicy p, List<Candidate> cs, int draws) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < draws; i++) {
            out.add(p.choose(REQ, cs));
        }
        return out;
    }

    @Test
    void randomSpreadsRequestsUniformlyWhateverTheCacheAndLoad() {
        // Overlaps and loads that every other policy would act on; random must ignore them.
        List<Candidate> cs = List.of(c("a", 10, 0), c("b", 0, 50), c("c", 3, 7), c("d", 0, 0));
        int[] n = counts(RoutingPolicies.create("random", 42), cs, 40_000);
        // Binomial(40000, 1/4): standard deviation ≈ 87, so ±500 is about 6σ.
        for (int count : n) {
            assertThat(count).isCloseTo(10_000, within(500));
        }
    }

    @Test
    void randomIsReproducibleForASeedAndDiffersAcrossSeeds() {
        List<Candidate> cs = List.of(c("a", 0, 0), c("b", 0, 0), c("c", 0, 0), c("d", 0, 0));
        List<Integer> first = choices(RoutingPolicies.create("random", 7), cs, 200);
        List<Integer> again = choices(RoutingPolicies.create("random", 7), cs, 200);
        List<Integer> other = choices(RoutingPolicies.create("random", 8), cs, 200);
        assertThat(again).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
        assertThat(first).containsOnly(0, 1, 2, 3);
    }

    @Test
    void powerOfTwoWithTwoWorkersAlwaysTakesTheLessLoaded() {
        RoutingPolicy p = RoutingPolicies.create("power-of-two", 3);
        assertThat(choices(p, List.of(c("a", 0, 4), c("b", 0, 1)), 500)).containsOnly(1);
        assertThat(choices(p, List.of(c("a", 0, 1), c("b", 0, 4)), 500)).containsOnly(0);
    }

    @Test
    void powerOfTwoPicksTheLessLoadedOfTwoDistinctUniformSamples() {
        // Loads 2, 0, 3, 1 (out of rank order). A worker wins exactly when it is sampled together with a more
        // loaded one: of the 6 equally likely pairs, the ranks 0..3 win 3, 2, 1 and 0 of them. The most loaded
        // worker can never win; sampling with replacement would let it win a pair with itself (1 in 16).
        List<Candidate> cs = List.of(c("a", 0, 2), c("b", 0, 0), c("c", 0, 3), c("d", 0, 1));
        int[] n = counts(RoutingPolicies.create("power-of-two", 11), cs, 60_000);
        assertThat(n[2]).as("the most loaded worker").isZero();
        assertThat(n[1]).as("least loaded: 3 pairs in 6").isCloseTo(30_000, within(1_000));
        assertThat(n[3]).as("second: 2 pairs in 6").isCloseTo(20_000, within(1_000));
        assertThat(n[0]).as("third: 1 pair in 6").isCloseTo(10_000, within(1_000));
    }

    @Test
    void powerOfTwoNeverLooksBeyondItsTwoSamples() {
        // One idle worker among four busy ones: it is chosen only when it is one of the two samples (2 in 5),
        // although it is the least loaded of all every time. Each busy worker gets the rest evenly.
        List<Candidate> cs = List.of(c("a", 0, 9), c("b", 0, 9), c("c", 0, 0), c("d", 0, 9), c("e", 0, 9));
        int[] n = counts(RoutingPolicies.create("power-of-two", 5), cs, 50_000);
        assertThat(n[2]).isCloseTo(20_000, within(1_000));
        for (int i : new int[] {0, 1, 3, 4}) {
            assertThat(n[i]).isCloseTo(7_500, within(700));
        }
    }

    @Test
    void powerOfTwoIsReproducibleForASeed() {
        List<Candidate> cs = List.of(c("a", 0, 1), c("b", 0, 2), c("c", 0, 3), c("d", 0, 0), c("e", 0, 5));
        assertThat(choices(RoutingPolicies.create("power-of-two", 9), cs, 200))
                .isEqualTo(choices(RoutingPolicies.create("power-of-two", 9), cs, 200))
                .isNotEqualTo(choices(RoutingPolicies.create("power-of-two", 10), cs, 200));
    }
}
