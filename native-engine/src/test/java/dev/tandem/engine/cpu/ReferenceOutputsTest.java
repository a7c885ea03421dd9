package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.testing.RecordingListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU engine reproduces llama2.c's greedy continuations of the trained stories260K checkpoint exactly, from the
 * llama2.c file and from the Hugging Face directory, whatever the block size, chunking, prefix caching or
 * preemption (all of which must leave the arithmetic of each position unchanged).
 */
class ReferenceOutputsTest {

    record Case(int[] prompt, int[] greedy) {}

    static List<Case> cases() throws Exception {
        List<Case> out = new ArrayList<>();
        for (String f : List.of("reference/stories260K-greedy.json", "reference/stories260K-bos-greedy256.json")) {
            JsonNode root =
                    new ObjectMapper().readTree(SharedFixtures.require(f).toFile());
            for (JsonNode c : root.get("cases")) {
                out.add(new Case(ints(c.get("prompt")), ints(c.get("greedy"))));
            }
        }
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static Stream<Arguments> setups() {
        return Stream.of(
                Arguments.of(
                        "llama2.c file, blocks of 16", "models/stories260K.bin", (UnaryOperator<EngineConfig.Builder>)
                                b -> b),
                Arguments.of(
                        "HF directory, blocks of 16", "models/stories260K-hf", (UnaryOperator<EngineConfig.Builder>)
                                b -> b),
                Arguments.of("blocks of 1, prefill chunks of 7 tokens", "models/stories260K.bin", (UnaryOperator<
                                EngineConfig.Builder>)
                        b -> b.blockSize(1).maxNumBatchedTokens(7)),
                Arguments.of(
                        "blocks of 3, all cases at once (continuous batching)",
                        "models/stories260K.bin",
                        (UnaryOperator<EngineConfig.Builder>)
                                b -> b.blockSize(3).maxNumSeqs(64)),
                Arguments.of("two compute threads splitting every product", "models/stories260K.bin", (UnaryOperator<
                                EngineConfig.Builder>)
                        b -> b.maxNumSeqs(64).options(java.util.Map.of("threads", "2"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("setups")
    void greedyContinuationsEqualLlama2cExactly(String name, String model, UnaryOperator<EngineConfig.Builder> tweak)
            throws Exception {
        Path path = SharedFixtures.require(model);
        List<Case> cases = cases();
        EngineConfig config = tweak.apply(EngineConfig.builder()
                        .workerId("ref")
                        .model(path.toString())
                        .blockSize(16)
                        .kvBlocks(4096)
                        .options(java.util.Map.of("threads", "1")))
                .build();
        try (Engine engine = new NativeEngineProvider().create(config)) {
            // Every case twice: the second time the prompt is in the prefix cache (unless evicted).
            for (int round = 0; round < 2; round++) {
                List<RecordingListener> listeners = new ArrayList<>();
                for (int i = 0; i < cases.size(); i++) {
                    Case c = cases.get(i);
                    RecordingListener l = new RecordingListener();
                    listeners.add(l);
                    engine.generate(
                            new GenerateRequest(
                                    "c" + round + "-" + i,
                                    c.prompt(),
                                    SamplingParams.GREEDY,
                                    StopConditions.maxTokens(c.greedy().length).withIgnoreEos(true)),
                            l);
                }
                int cached = 0;
                for (int i = 0; i < cases.size(); i++) {
                    cached += listeners.get(i).await().usage().cachedPromptTokens();
                    assertThat(listeners.get(i).tokens())
                            .as(name + ", case " + i + ", round " + round)
                            .containsExactly(cases.get(i).greedy());
                }
                if (round == 1) {
                    assertThat(cached)
                            .as("prompt tokens served from the prefix cache in round 2")
                            .isPositive();
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void preemptionAndRecomputeReproduceTheReference() throws Exception {
        List<Case> cases = cases();
        EngineConfig config = EngineConfig.builder()
                .workerId("ref")
                .model(SharedFixtures.require("models/stories260K.bin").toString())
                .blockSize(16)
                .kvBlocks(33) // the floor: one sequence of the full context (32 blocks) plus one
                .maxNumSeqs(16)
                .options(java.util.Map.of("threads", "1"))
                .build();
        var core = NativeEngineProvider.core(config);
        List<RecordingListener> listeners = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            RecordingListener l = new RecordingListener();
            listeners.add(l);
            core.add(
                    new GenerateRequest(
                            "p" + i,
                            c.prompt(),
                            SamplingParams.GREEDY,
                            StopConditions.maxTokens(c.greedy().length).withIgnoreEos(true)),
                    l,
                    0);
        }
        while (core.hasWork()) {
            core.step();
        }
        assertThat(core.preemptions())
                .as("sequences preempted for lack of KV blocks")
                .isPositive();
        for (int i = 0; i < cases.size(); i++) {
            assertThat(listeners.get(i).finalDelta()).isNotNull();
            assertThat(listeners.get(i).tokens())
                    .as("case " + i)
                    .containsExactly(cases.get(i).greedy());
        }
        core.backend().close();
    }
}
