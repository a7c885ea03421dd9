package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.testing.RecordingListener;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The sampler's options, each against what it promises, with seeded draws (so every assertion is deterministic). */
class SamplerTest {

    /** Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1 (as logits: their logarithms). */
    private static final float[] FOUR = {
        (float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)
    };

    private final Sampler sampler = new Sampler();

    private static SamplingParams params(double temperature, double topP, int topK, double minP, Long seed) {
        return new SamplingParams(temperature, topP, topK, minP, seed, 1, 0, 0, -1);
    }

    private static Sequence sequence(SamplingParams p, int... prompt) {
        return new Sequence(
                new GenerateRequest("s", prompt.length == 0 ? new int[] {7} : prompt, p, StopConditions.maxTokens(8)),
                new RecordingListener(),
                0);
    }

    /**
     * {@code n} draws for one unseeded sequence at one position (its generator persists across draws, as across a
     * request's steps), from a sampler whose generators derive from {@code p}'s seed, so every run draws the same.
     */
    private List<Integer> draws(float[] logits, SamplingParams p, int n) {
        Sampler sampler = new Sampler(new java.util.SplittableRandom(p.seed() == null ? 0 : p.seed()));
        SamplingParams unseeded = new SamplingParams(p.temperature(), p.topP(), p.topK(), p.minP(), null, 1, 0, 0, -1);
        Sequence seq = sequence(unseeded);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(sampler.sample(logits.clone(), logits.length, seq));
        }
        return out;
    }

    private static double share(List<Integer> draws, int id) {
        return draws.stream().filter(d -> d == id).count() / (double) draws.size();
    }

    /** The seeded draw at each of positions 1..n, each from a fresh sequence of that length. */
    private List<Integer> seededByPosition(long seed, int n) {
        List<Integer> out = new ArrayList<>();
        for (int len = 1; len <= n; len++) {
            out.add(sampler.sample(FOUR.clone(), FOUR.length, sequence(params(1, 1, 0, 0, seed), new int[len])));
        }
        return out;
    }

    @Test
    void aSeededDrawDependsOnlyOnSeedAndPositionSoAContinuationElsewhereDrawsTheSame() {
        List<Integer> a = seededByPosition(42L, 200);
        // Another sampler (another worker) that drew other things first draws the same at every position.
        draws(FOUR, params(1, 1, 0, 0, 9L), 17);
        List<Integer> b = seededByPosition(42L, 200);
        List<Integer> c = seededByPosition(43L, 200);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        // and the draws still follow the distribution across positions
        assertThat(share(a, 0)).isCloseTo(0.5, within(0.1));
    }

    @Test
    void drawsFollowTheSoftmaxAtTemperatureOne() {
        List<Integer> d = draws(FOUR, params(1, 1, 0, 0, 1L), 20_000);
        assertThat(share(d, 0)).isCloseTo(0.5, within(0.02));
        assertThat(share(d, 1)).isCloseTo(0.3, within(0.02));
        assertThat(share(d, 2)).isCloseTo(0.15, within(0.015));
        assertThat(share(d, 3)).isCloseTo(0.05, within(0.01));
    }

    @Test
    void aLowerTemperatureConcentratesTheDraws() {
        // T = 0.5 squares the probabilities before renormalising: 0.25/0.09/0.0225/0.0025 -> 0.687 for the first
        double cold = share(draws(FOUR, params(0.5, 1, 0, 0, 2L), 20_000), 0);
        double hot = share(draws(FOUR, params(2, 1, 0, 0, 2L), 20_000), 0);
        assertThat(cold).isCloseTo(0.687, within(0.02));
        assertThat(hot).isLessThan(0.45);
    }

    @Test
    void temperatureZeroIsTheFirstMaximum() {
        float[] tie = {0.1f, 2f, 2f, -1f};
        assertThat(draws(tie, SamplingParams.GREEDY, 5)).containsOnly(1);
    }

    @Test
    void topKKeepsOnlyTheKMostLikelyTokens() {
        List<Integer> k1 = draws(FOUR, params(1, 1, 1, 0, 3L), 500);
        assertThat(k1).containsOnly(0);
        List<Integer> k2 = draws(FOUR, params(1, 1, 2, 0, 3L), 5_000);
        assertThat(k2).containsOnly(0, 1);
        assertThat(share(k2, 0)).isCloseTo(0.5 / 0.8, within(0.03)); // renormalised over the kept two
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        // 0.5 < 0.75 <= 0.5 + 0.3: the first two
        List<Integer> d = draws(FOUR, params(1, 0.75, 0, 0, 4L), 5_000);
        assertThat(d).containsOnly(0, 1);
        // 0.5 + 0.3 < 0.9 <= 0.95: three
        assertThat(draws(FOUR, params(1, 0.9, 0, 0, 4L), 5_000)).containsOnly(0, 1, 2);
    }

    @Test
    void minPDropsTokensBelowItsShareOfTheTopProbability() {
        // min_p 0.25 of the top 0.5 = 0.125: 0.15 stays, 0.05 goes
        List<Integer> d = draws(FOUR, params(1, 1, 0, 0.25, 5L), 5_000);
        assertThat(d).containsOnly(0, 1, 2);
        assertThat(draws(FOUR, params(1, 1, 0, 0.7, 5L), 500)).containsOnly(0);
    }

    @Test
    void repetitionPenaltyPushesDownTokensAlreadySeen() {
        float[] logits = {3f, 2.5f, -1f, 0f};
        SamplingParams rep = new SamplingParams(0, 1, 0, 0, null, 2, 0, 0, -1);
        // token 0 is in the prompt: 3 / 2 = 1.5 < 2.5, so greedy moves to token 1
        assertThat(sampler.sample(logits.clone(), 4, sequence(rep, 0, 3))).isEqualTo(1);
        // negative logits are multiplied: -1 * 2 = -2 (still below 0 for token 3, whose 0 stays 0)
        float[] neg = {-1f, -1.5f, -3f, -2.5f};
        assertThat(sampler.sample(neg.clone(), 4, sequence(rep, 0))).isEqualTo(1);
        assertThat(sampler.sample(logits.clone(), 4, sequence(SamplingParams.GREEDY, 0)))
                .isZero();
    }
}
