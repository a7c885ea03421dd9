package dev.tandem.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.time.ManualClock;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import dev.tandem.engine.BuiltinEngine;
import dev.tandem.engine.EngineCore;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.testing.RecordingListener;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SimEngineProviderTest {

    private static EngineConfig.Builder config() {
        return EngineConfig.builder()
                .workerId("sim-test")
                .blockSize(16)
                .kvBlocks(128)
                .clock(new ManualClock());
    }

    @Test
    void isFoundByServiceLoaderUnderTheNameSim() {
        EngineProvider p = Engines.provider("sim");
        assertThat(p).isInstanceOf(SimEngineProvider.class);
        assertThat(p.name()).isEqualTo("sim");
        assertThat(p.isAvailable()).isTrue();
        assertThat(p.unavailableReason()).isEmpty();
        assertThat(Engines.providers()).extracting(EngineProvider::name).contains("sim");
    }

    @Test
    void anUnknownEngineNameListsTheKnownOnes() {
        assertThatThrownBy(() -> Engines.provider("no-such-engine"))
                .isInstanceOf(EngineException.class)
                .hasMessageContaining("sim")
                .extracting(e -> ((EngineException) e).kind())
                .isEqualTo(EngineException.Kind.INVALID_REQUEST);
    }

    @Test
    void servesTheByteLevelDemoModelByDefault() {
        EngineInfo info = SimEngineProvider.info(config().build());
        assertThat(info.modelName()).isEqualTo(SimEngineProvider.DEMO_MODEL);
        assertThat(info.vocabSize()).isEqualTo(ByteLevelTokenizer.VOCAB_SIZE);
        assertThat(info.eosTokenIds()).containsExactly(ByteLevelTokenizer.EOS);
        assertThat(info.contextLength()).isEqualTo(SimEngineProvider.DEFAULT_CONTEXT);
        assertThat(info.blockSize()).isEqualTo(16);
        assertThat(info.kvBlocks()).isEqualTo(128);
    }

    @Test
    void optionsSetTheModelVocabularyAndContext() {
        EngineInfo info = SimEngineProvider.info(config().model("org/model")
                .options(Map.of("vocab-size", "1000", "context-length", "2048"))
                .build());
        assertThat(info.modelName()).isEqualTo("org/model");
        assertThat(info.vocabSize()).isEqualTo(1000);
        assertThat(info.contextLength()).isEqualTo(2048);
        assertThat(info.eosTokenIds())
                .as("a custom vocabulary has no known EOS")
                .isEmpty();
    }

    @Test
    void theDemoModelEmitsPrintableAsciiAndEos() {
        EngineCore core = SimEngineProvider.core(
                config().options(Map.of("eos-one-in", "4")).build());
        RecordingListener l = new RecordingListener();
        var stop = StopConditions.maxTokens(400).withIgnoreEos(true);
        core.scheduler()
                .add(new Sequence(new GenerateRequest("r", new int[] {72, 105}, SamplingParams.GREEDY, stop), l, 0));
        while (core.scheduler().hasWork()) {
            core.step();
        }
        int[] tokens = l.tokens();
        assertThat(tokens).hasSize(400);
        assertThat(java.util.Arrays.stream(tokens).boxed().toList())
                .allMatch(t -> t == ByteLevelTokenizer.EOS || (t >= 32 && t < 127));
        assertThat(tokens).contains(ByteLevelTokenizer.EOS);
    }

    @Test
    void eosOneInOneStopsEveryRequestAtItsFirstToken() {
        EngineCore core = SimEngineProvider.core(
                config().options(Map.of("eos-one-in", "1")).build());
        RecordingListener l = new RecordingListener();
        core.scheduler()
                .add(new Sequence(
                        new GenerateRequest(
                                "r", new int[] {1, 2, 3}, SamplingParams.GREEDY, StopConditions.maxTokens(50)),
                        l,
                        0));
        while (core.scheduler().hasWork()) {
            core.step();
        }
        assertThat(l.tokens()).containsExactly(ByteLevelTokenizer.EOS);
        assertThat(l.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void aCustomVocabularyNeverStopsOnItsOwn() {
        EngineCore core = SimEngineProvider.core(
                config().options(Map.of("vocab-size", "50")).build());
        RecordingListener l = new RecordingListener();
        core.scheduler()
                .add(new Sequence(
                        new GenerateRequest(
                                "r", new int[] {1, 2, 3}, SamplingParams.GREEDY, StopConditions.maxTokens(300)),
                        l,
                        0));
        while (core.scheduler().hasWork()) {
            core.step();
        }
        assertThat(l.tokens()).hasSize(300);
        assertThat(java.util.Arrays.stream(l.tokens()).boxed().toList()).allMatch(t -> t >= 0 && t < 50);
        assertThat(l.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void createsAWorkingBuiltinEngine() throws Exception {
        try (Engine engine = new SimEngineProvider().create(config().build())) {
            assertThat(engine).isInstanceOf(BuiltinEngine.class);
            assertThat(engine.info()).isEqualTo(SimEngineProvider.info(config().build()));
            RecordingListener l = new RecordingListener();
            engine.generate(
                    new GenerateRequest(
                            "r", new int[] {72, 105}, SamplingParams.GREEDY, new StopConditions(5, Set.of(), true, 0)),
                    l);
            assertThat(l.await().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(l.tokens()).hasSize(5);
        }
    }
}
