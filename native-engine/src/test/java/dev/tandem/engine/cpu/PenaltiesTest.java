package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.engine.testing.RecordingListener;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Presence and frequency penalties act on the tokens a request has generated, through the engine. */
class PenaltiesTest {

    private static final String MODEL = "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=300,seq=256,seed=11";

    private static int[] greedy(Engine engine, double presence, double frequency) throws Exception {
        RecordingListener l = new RecordingListener();
        engine.generate(
                new GenerateRequest(
                        "p" + presence + "-" + frequency,
                        new int[] {1, 5, 9},
                        new SamplingParams(0, 1, 0, 0, null, 1, presence, frequency, -1),
                        StopConditions.maxTokens(60).withIgnoreEos(true)),
                l);
        l.await();
        return l.tokens();
    }

    @Test
    void largePenaltiesForbidRepeatingAGeneratedToken() throws Exception {
        try (Engine engine = new NativeEngineProvider()
                .create(EngineConfig.builder()
                        .workerId("pen")
                        .model(MODEL)
                        .options(Map.of("threads", "1"))
                        .build())) {
            int[] plain = greedy(engine, 0, 0);
            assertThat(Arrays.stream(plain).distinct().count())
                    .as("the unpenalised continuation repeats itself (else this test shows nothing)")
                    .isLessThan(plain.length);
            for (int[] penalised : new int[][] {greedy(engine, 1000, 0), greedy(engine, 0, 1000)}) {
                assertThat(penalised).hasSize(60);
                assertThat(Arrays.stream(penalised).distinct().count()).isEqualTo(60);
            }
            // a penalty changes nothing until a token repeats: the first tokens agree up to the first repeat
            int[] frequency = greedy(engine, 0, 1000);
            int firstRepeat = firstRepeatIndex(plain);
            assertThat(Arrays.copyOf(frequency, firstRepeat)).containsExactly(Arrays.copyOf(plain, firstRepeat));
        }
    }

    /** Index of the first generated token equal to an earlier generated one. */
    private static int firstRepeatIndex(int[] t) {
        for (int i = 1; i < t.length; i++) {
            for (int j = 0; j < i; j++) {
                if (t[i] == t[j]) {
                    return i;
                }
            }
        }
        return t.length;
    }
}
