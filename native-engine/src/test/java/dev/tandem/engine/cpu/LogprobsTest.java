package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.testing.RecordingListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Log-probabilities of the CPU engine: the log-softmax of the model's logits, with the top alternatives. */
class LogprobsTest {

    /** logprobs=0 (OpenAI's logprobs: true with top_logprobs 0): the chosen token's value and no alternatives. */
    @Test
    void zeroAlternativesGiveTheChosenTokensLogprobOnly() {
        TokenLogprob lp = Logprobs.of(new float[] {1f, 3f, 2f}, 3, 1, 0);
        double logZ = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2));
        assertThat((double) lp.logprob()).isCloseTo(3 - logZ, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(lp.topIds()).isEmpty();
        assertThat(lp.topLogprobs()).isEmpty();
    }

    @Test
    void logSoftmaxOfKnownLogits() {
        float[] logits = {1f, 3f, 2f, 0f};
        TokenLogprob lp = Logprobs.of(logits, 4, 2, 2);
        double z = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0));
        assertThat((double) lp.logprob()).isCloseTo(2 - z, within(1e-6));
        assertThat(lp.topIds()).containsExactly(1, 2);
        assertThat((double) lp.topLogprobs()[0]).isCloseTo(3 - z, within(1e-6));
        assertThat((double) lp.topLogprobs()[1]).isCloseTo(2 - z, within(1e-6));
    }

    @Test
    void greedyTokensAreTheirOwnMostLikelyAlternative() throws Exception {
        var model = SharedFixtures.require("models/stories260K.bin");
        try (Engine e = new NativeEngineProvider()
                .create(EngineConfig.builder()
                        .model(model.toString())
                        .blockSize(16)
                        .options(Map.of("threads", "1"))
                        .build())) {
            RecordingListener l = new RecordingListener();
            e.generate(
                    new GenerateRequest(
                            "lp",
                            new int[] {1, 370, 480, 495},
                            SamplingParams.GREEDY.withLogprobs(3),
                            StopConditions.maxTokens(12).withIgnoreEos(true)),
                    l);
            l.await();
            List<TokenLogprob> all = new ArrayList<>();
            for (TokenDelta d : l.deltas()) {
                if (d.tokenIds().length > 0) {
                    assertThat(d.logprobs()).hasSize(d.tokenIds().length);
                    all.addAll(d.logprobs());
                }
            }
            assertThat(all).hasSize(12);
            int[] tokens = l.tokens();
            for (int i = 0; i < 12; i++) {
                TokenLogprob lp = all.get(i);
                assertThat(lp.tokenId()).isEqualTo(tokens[i]);
                assertThat(lp.topIds()).hasSize(3);
                assertThat(lp.topIds()[0]).isEqualTo(tokens[i]);
                assertThat(lp.logprob()).isEqualTo(lp.topLogprobs()[0]).isLessThanOrEqualTo(0f);
                assertThat(lp.topLogprobs()[1]).isLessThanOrEqualTo(lp.topLogprobs()[0]);
                double mass = 0;
                for (float v : lp.topLogprobs()) {
                    mass += Math.exp(v);
                }
                assertThat(mass).isLessThanOrEqualTo(1.0 + 1e-5);
            }
        }
    }
}
