package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.BuiltinEngine;
import dev.tandem.engine.cpu.NativeEngineProvider;
import dev.tandem.engine.testing.RecordingListener;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole cuda backend (host code, kernels, graphs, KV cache in the block layout) on the emulated device, inside
 * the built-in engine: token-exact against llama2.c's references and the CPU engine, as the GPU must be.
 */
class CudaBackendEmulatedTest {

    record Case(int[] prompt, int[] greedy) {}

    static List<Case> cases() throws Exception {
        var root = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(SharedFixtures.require("reference/stories260K-greedy.json")
                        .toFile());
        List<Case> out = new ArrayList<>();
        for (var c : root.get("cases")) {
            int[] p = new int[c.get("prompt").size()];
            int[] g = new int[c.get("greedy").size()];
            for (int i = 0; i < p.length; i++) {
                p[i] = c.get("prompt").get(i).asInt();
            }
            for (int i = 0; i < g.length; i++) {
                g[i] = c.get("greedy").get(i).asInt();
            }
            out.add(new Case(p, g));
        }
        return out;
    }

    private static Engine engine(EngineConfig config, boolean graphs) {
        return new BuiltinEngine(
                config, NativeEngineProvider.core(config, CudaEngineProvider.backends(new EmulatedGpu(), graphs)));
    }

    @Test
    void logitsOfAPromptEqualTheCpuEnginesWithinRounding() throws Exception {
        var m = dev.tandem.engine.model.ModelLoader.load(
                SharedFixtures.require("models/stories260K.bin").toString());
        int[] prompt = cases().get(0).prompt();
        var cpu = new dev.tandem.engine.cpu.CpuComputeBackend(m.config(), m.weights(), 8, 16, 1);
        var gpu = new CudaComputeBackend(m.config(), m.weights(), new EmulatedGpu(), 8, 16, 256, 4, true);
        gpu.logitsAfter(prompt);
        long t0 = System.nanoTime();
        float[] got = gpu.logitsAfter(prompt);
        System.out.printf("emulated prefill of %d tokens: %.1f ms%n", prompt.length, (System.nanoTime() - t0) / 1e6);
        float[] want = cpu.logitsAfter(prompt);
        float worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - want[i]));
        }
        System.out.println("largest logit difference against the CPU engine: " + worst);
        assertThat(worst).isLessThan(1e-4f);
        gpu.close();
        cpu.close();
    }

    @Test
    void greedyContinuationsOfStories260kEqualLlama2cExactlyWithDecodeGraphs() throws Exception {
        List<Case> cases = cases();
        EngineConfig config = EngineConfig.builder()
                .workerId("cuda")
                .model(SharedFixtures.require("models/stories260K.bin").toString())
                .blockSize(16)
                .kvBlocks(1024)
                .maxNumSeqs(64)
                .build();
        try (Engine engine = engine(config, true)) {
            List<RecordingListener> listeners = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                RecordingListener l = new RecordingListener();
                listeners.add(l);
                engine.generate(
                        new GenerateRequest(
                                "c" + i,
                                cases.get(i).prompt(),
                                SamplingParams.GREEDY,
                                StopConditions.maxTokens(cases.get(i).greedy().length)
                                        .withIgnoreEos(true)),
                        l);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < cases.size(); i++) {
                assertThat(listeners
                                .get(i)
                                .await(java.time.Duration.ofMinutes(5))
                                .finishReason())
                        .isNotNull();
                assertThat(listeners.get(i).tokens())
                        .as("case " + i)
                        .containsExactly(cases.get(i).greedy());
            }
        }
    }
}
