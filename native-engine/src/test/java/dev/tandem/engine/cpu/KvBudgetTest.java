package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.engine.testing.RecordingListener;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The KV memory budget bounds the cache; a model whose context needs more is served with the context that fits. */
class KvBudgetTest {

    // 2 layers × (K + V) × kvDim 32 × 4 bytes = 512 bytes of KV per position
    private static final String LONG =
            "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=300,seq=131072,seed=3";

    @Test
    void aContextLongerThanTheBudgetHoldsIsServedShortened() throws Exception {
        long budget = 4L << 20; // 8,192 positions of 512 bytes
        try (Engine e = new NativeEngineProvider()
                .create(EngineConfig.builder()
                        .workerId("kv")
                        .model(LONG)
                        .blockSize(16)
                        .options(Map.of("threads", "1", "kv-memory-bytes", String.valueOf(budget)))
                        .build())) {
            int context = e.info().contextLength();
            assertThat(context).isLessThan(131072).isGreaterThanOrEqualTo(8000);
            assertThat((long) e.info().kvBlocks() * 16 * 512).isLessThanOrEqualTo(budget);
            assertThat(e.info().kvBlocks()).isGreaterThan(context / 16); // one whole context fits
            // a prompt beyond the served context is refused up front, one within it runs
            assertThatThrownBy(() -> e.generate(
                            new GenerateRequest(
                                    "long", new int[context + 1], SamplingParams.GREEDY, StopConditions.maxTokens(1)),
                            new RecordingListener()))
                    .isInstanceOf(EngineException.class);
            RecordingListener ok = new RecordingListener();
            e.generate(
                    new GenerateRequest("ok", new int[] {1, 2, 3}, SamplingParams.GREEDY, StopConditions.maxTokens(2)),
                    ok);
            assertThat(ok.await().usage().completionTokens()).isEqualTo(2);
        }
    }
}
