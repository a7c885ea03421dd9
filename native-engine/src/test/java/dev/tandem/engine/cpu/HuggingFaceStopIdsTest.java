package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.engine.model.ModelWriter;
import dev.tandem.engine.model.RandomModel;
import dev.tandem.engine.testing.RecordingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugging Face checkpoints may list several end-of-sequence ids (Llama 3.x instruct: {@code "eos_token_id": [128001,
 * 128008, 128009]}) in config.json and in generation_config.json: generation stops at any of them.
 */
class HuggingFaceStopIdsTest {

    private static final String SHAPE = "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=300,seq=128,seed=9";
    private static final int[] PROMPT = {1, 17, 250, 3, 99, 42};

    @Test
    void generationStopsAtAnyEosIdOfConfigAndGenerationConfig(@TempDir Path dir) throws Exception {
        Path hf = dir.resolve("hf");
        ModelWriter.writeHuggingFace(RandomModel.load(SHAPE), hf);
        int[] free = greedy(hf, 12, true);
        // Three distinct ids of the free-running continuation: the earliest one to appear must end generation.
        int[] distinct = Arrays.stream(free).distinct().toArray();
        assertThat(distinct.length).as("the random model's continuation varies").isGreaterThanOrEqualTo(3);
        int inConfig = distinct[2];
        int inGenerationConfig = distinct[1];
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(hf.resolve("config.json").toFile());
        config.putArray("eos_token_id").add(299).add(inConfig);
        json.writeValue(hf.resolve("config.json").toFile(), config);
        Files.writeString(hf.resolve("generation_config.json"), "{\"eos_token_id\": " + inGenerationConfig + "}");

        try (Engine engine = engine(hf)) {
            assertThat(engine.info().eosTokenIds()).containsExactlyInAnyOrder(299, inConfig, inGenerationConfig);
        }
        int firstStop = 0;
        while (free[firstStop] != inConfig && free[firstStop] != inGenerationConfig && free[firstStop] != 299) {
            firstStop++;
        }
        RecordingListener stopped = run(hf, 12, false);
        assertThat(stopped.tokens()).containsExactly(Arrays.copyOf(free, firstStop + 1));
        assertThat(stopped.finalDelta().finishReason()).isEqualTo(FinishReason.STOP);
        // ignore_eos still runs to the length limit through the same ids
        assertThat(greedy(hf, 12, true)).containsExactly(free);
    }

    private static int[] greedy(Path model, int n, boolean ignoreEos) throws Exception {
        return run(model, n, ignoreEos).tokens();
    }

    private static RecordingListener run(Path model, int n, boolean ignoreEos) throws Exception {
        try (Engine engine = engine(model)) {
            RecordingListener l = new RecordingListener();
            StopConditions stop = StopConditions.maxTokens(n);
            engine.generate(
                    new GenerateRequest(
                            "r", PROMPT, SamplingParams.GREEDY, ignoreEos ? stop.withIgnoreEos(true) : stop),
                    l);
            l.await();
            return l;
        }
    }

    private static Engine engine(Path model) {
        return new NativeEngineProvider()
                .create(EngineConfig.builder()
                        .workerId("eos")
                        .model(model.toString())
                        .blockSize(16)
                        .options(Map.of("threads", "1"))
                        .build());
    }
}
