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
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole cuda backend (host code, kernels, graphs, KV cache in the block layout) inside the built-in engine, on
 * the emulated device (or a GPU, see {@link TestGpus}): token-exact against llama2.c's references and the CPU engine.
 */
class CudaBackendTest {

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
                config, NativeEngineProvider.core(config, CudaEngineProvider.backends(TestGpus.create(), graphs)));
    }

    @Test
    void logitsOfAPromptEqualTheCpuEnginesWithinRounding() throws Exception {
        var m = dev.tandem.engine.model.ModelLoader.load(
                SharedFixtures.require("models/stories260K.bin").toString());
        int[] prompt = cases().get(0).prompt();
        var cpu = new dev.tandem.engine.cpu.CpuComputeBackend(m.config(), m.weights(), 8, 16, 1);
        var gpu = new CudaComputeBackend(m.config(), m.weights(), TestGpus.create(), 8, 16, 256, 4, true, false);
        gpu.logitsAfter(prompt);
        long t0 = System.nanoTime();
        float[] got = gpu.logitsAfter(prompt);
        System.out.printf("prefill of %d tokens: %.1f ms%n", prompt.length, (System.nanoTime() - t0) / 1e6);
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

    private static List<Integer> generate(Engine engine, String id, int[] prompt, SamplingParams sampling, int tokens)
            throws Exception {
        RecordingListener l = new RecordingListener();
        engine.generate(
                new GenerateRequest(
                        id, prompt, sampling, StopConditions.maxTokens(tokens).withIgnoreEos(true)),
                l);
        l.await(java.time.Duration.ofMinutes(2));
        return java.util.Arrays.stream(l.tokens()).boxed().toList();
    }

    private static final String SMALL = "random:dim=64,hidden=128,layers=2,heads=4,kv_heads=2,vocab=256,seq=256,seed=5";

    private static EngineConfig random(String dtype) {
        return random(dtype, SMALL);
    }

    private static EngineConfig random(String dtype, String model) {
        return EngineConfig.builder()
                .workerId("cuda")
                .model(model)
                .blockSize(8)
                .kvBlocks(512)
                .options(Map.of("dtype", dtype, "threads", "1"))
                .build();
    }

    /**
     * bf16 decode products split k across a warp, so they round differently from the CPU's one chain: greedy output
     * may differ only where the CPU's two best logits are within that rounding (a near-tie), never elsewhere. The
     * GPU check runs it on a 110M shape for 256 tokens ({@code tandem.test.compare.model}, {@code .tokens}).
     */
    @Test
    void bf16GreedyOutputEqualsTheCpuEngineExceptAtANearTie() throws Exception {
        String model = System.getProperty("tandem.test.compare.model", SMALL);
        int tokens = Integer.getInteger("tandem.test.compare.tokens", 48);
        int[] prompt = {1, 17, 42, 99, 3, 250, 8};
        List<Integer> cpu;
        try (Engine e = new NativeEngineProvider().create(random("bf16", model))) {
            cpu = generate(e, "cpu", prompt, SamplingParams.GREEDY, tokens);
        }
        List<Integer> gpu;
        try (Engine e = engine(random("bf16", model), true)) {
            gpu = generate(e, "gpu", prompt, SamplingParams.GREEDY, tokens);
        }
        int first = 0;
        while (first < cpu.size() && cpu.get(first).equals(gpu.get(first))) {
            first++;
        }
        if (first < cpu.size()) {
            var m = dev.tandem.engine.model.ModelLoader.load(model);
            var weights = dev.tandem.engine.model.WeightTypes.convert(m.weights(), "bf16");
            var backend = new dev.tandem.engine.cpu.CpuComputeBackend(m.config(), weights, 512, 8, 1);
            int[] context = java.util.stream.IntStream.concat(
                            java.util.Arrays.stream(prompt),
                            cpu.subList(0, first).stream().mapToInt(i -> i))
                    .toArray();
            float[] logits = backend.logitsAfter(context);
            float gap = Math.abs(logits[cpu.get(first)] - logits[gpu.get(first)]);
            System.out.printf("bf16: first difference at token %d, CPU logit gap %.2e%n", first, gap);
            assertThat(gap).as("the logit gap where the outputs part").isLessThan(1e-3f);
            backend.close();
        } else {
            System.out.printf("bf16: %d of %d greedy tokens equal the CPU engine's%n", tokens, tokens);
        }
    }

    @Test
    void decodeGraphsGiveTheSameTokensAsLaunchingEveryKernel() throws Exception {
        for (String dtype : List.of("f32", "bf16")) {
            List<List<Integer>> runs = new ArrayList<>();
            for (boolean graphs : new boolean[] {true, false}) {
                try (Engine e = engine(random(dtype), graphs)) {
                    // Three sequences at once: decode steps of 3 tokens, padded to the 4-token graph.
                    List<RecordingListener> ls = new ArrayList<>();
                    for (int i = 0; i < 3; i++) {
                        RecordingListener l = new RecordingListener();
                        ls.add(l);
                        e.generate(
                                new GenerateRequest(
                                        "r" + i,
                                        new int[] {1, 5 + i, 9, 200 - i},
                                        SamplingParams.GREEDY,
                                        StopConditions.maxTokens(12).withIgnoreEos(true)),
                                l);
                    }
                    List<Integer> all = new ArrayList<>();
                    for (RecordingListener l : ls) {
                        l.await(java.time.Duration.ofMinutes(2));
                        all.addAll(java.util.Arrays.stream(l.tokens()).boxed().toList());
                    }
                    runs.add(all);
                }
            }
            assertThat(runs.get(0)).as(dtype).hasSize(36).isEqualTo(runs.get(1));
        }
    }

    @Test
    void seededSamplingAndLogprobsGoThroughTheCpuEnginesSamplerWithTheSameResult() throws Exception {
        SamplingParams seeded = new SamplingParams(0.9, 0.95, 40, 0, 1234L, 1.1, 0, 0, 2);
        int[] prompt = {1, 2, 3, 4, 5};
        RecordingListener cpu = new RecordingListener();
        RecordingListener gpu = new RecordingListener();
        try (Engine e = new NativeEngineProvider().create(random("f32"))) {
            e.generate(
                    new GenerateRequest(
                            "s", prompt, seeded, StopConditions.maxTokens(16).withIgnoreEos(true)),
                    cpu);
            cpu.await(java.time.Duration.ofMinutes(1));
        }
        try (Engine e = engine(random("f32"), true)) {
            e.generate(
                    new GenerateRequest(
                            "s", prompt, seeded, StopConditions.maxTokens(16).withIgnoreEos(true)),
                    gpu);
            gpu.await(java.time.Duration.ofMinutes(2));
        }
        assertThat(gpu.tokens()).containsExactly(cpu.tokens());
        var gpuLogprobs = gpu.deltas().stream()
                .flatMap(d -> d.logprobs() == null ? java.util.stream.Stream.empty() : d.logprobs().stream())
                .toList();
        var cpuLogprobs = cpu.deltas().stream()
                .flatMap(d -> d.logprobs() == null ? java.util.stream.Stream.empty() : d.logprobs().stream())
                .toList();
        assertThat(gpuLogprobs).hasSize(16);
        for (int i = 0; i < 16; i++) {
            assertThat(gpuLogprobs.get(i).logprob())
                    .isCloseTo(cpuLogprobs.get(i).logprob(), org.assertj.core.data.Offset.offset(1e-3f));
        }
    }

    /**
     * Plain temperature sampling is drawn on the device (sample_rows) from the uniform the host takes from the
     * request's generator, with the CPU sampler's arithmetic: seeded requests give the CPU engine's tokens, also
     * beside a greedy request in the same steps.
     */
    @Test
    void temperatureSamplingOnTheDeviceGivesTheCpuEnginesTokens() throws Exception {
        SamplingParams tempered = new SamplingParams(0.8, 1, 0, 0, 77L, 1, 0, 0, -1);
        int[] a = {1, 9, 33, 4};
        int[] b = {1, 120, 7};
        List<List<Integer>> runs = new ArrayList<>();
        Gpu gpu = TestGpus.create();
        for (boolean cuda : new boolean[] {false, true}) {
            EngineConfig config = random("f32");
            try (Engine e = cuda
                    ? new BuiltinEngine(
                            config, NativeEngineProvider.core(config, CudaEngineProvider.backends(gpu, true)))
                    : new NativeEngineProvider().create(config)) {
                RecordingListener la = new RecordingListener();
                RecordingListener lb = new RecordingListener();
                e.generate(
                        new GenerateRequest(
                                "t", a, tempered, StopConditions.maxTokens(24).withIgnoreEos(true)),
                        la);
                e.generate(
                        new GenerateRequest(
                                "g",
                                b,
                                SamplingParams.GREEDY,
                                StopConditions.maxTokens(24).withIgnoreEos(true)),
                        lb);
                la.await(java.time.Duration.ofMinutes(2));
                lb.await(java.time.Duration.ofMinutes(2));
                List<Integer> both = new ArrayList<>(
                        java.util.Arrays.stream(la.tokens()).boxed().toList());
                both.addAll(java.util.Arrays.stream(lb.tokens()).boxed().toList());
                runs.add(both);
            }
        }
        assertThat(runs.get(1)).hasSize(48).isEqualTo(runs.get(0));
        if (gpu instanceof EmulatedGpu emulated) {
            assertThat(emulated.launched("sample_rows"))
                    .as("tokens drawn on the device")
                    .isGreaterThanOrEqualTo(24);
        }
        // Not the greedy continuation: the draws did happen.
        List<Integer> greedy;
        try (Engine e = new NativeEngineProvider().create(random("f32"))) {
            greedy = generate(e, "gg", a, SamplingParams.GREEDY, 24);
        }
        assertThat(runs.get(1).subList(0, 24)).isNotEqualTo(greedy);
    }

    /**
     * Greedy and tempered requests with logprobs keep their selection on the device and get their log-probabilities
     * from it too (logprobs_rows, the CPU engine's arithmetic): the CPU engine's tokens, values and alternatives.
     */
    @Test
    void logprobsOfGreedyAndTemperedRequestsComeFromTheDeviceAsTheCpuEngineComputesThem() throws Exception {
        SamplingParams greedy = new SamplingParams(0, 1, 0, 0, null, 1, 0, 0, 5);
        SamplingParams tempered = new SamplingParams(0.9, 1, 0, 0, 11L, 1, 0, 0, 0);
        List<List<dev.tandem.api.engine.TokenLogprob>> runs = new ArrayList<>();
        List<List<Integer>> tokens = new ArrayList<>();
        Gpu gpu = TestGpus.create();
        for (boolean cuda : new boolean[] {false, true}) {
            EngineConfig config = random("f32");
            try (Engine e = cuda
                    ? new BuiltinEngine(
                            config, NativeEngineProvider.core(config, CudaEngineProvider.backends(gpu, true)))
                    : new NativeEngineProvider().create(config)) {
                RecordingListener a = new RecordingListener();
                RecordingListener b = new RecordingListener();
                e.generate(
                        new GenerateRequest(
                                "a",
                                new int[] {1, 4, 8},
                                greedy,
                                StopConditions.maxTokens(10).withIgnoreEos(true)),
                        a);
                e.generate(
                        new GenerateRequest(
                                "b",
                                new int[] {1, 77},
                                tempered,
                                StopConditions.maxTokens(10).withIgnoreEos(true)),
                        b);
                a.await(java.time.Duration.ofMinutes(2));
                b.await(java.time.Duration.ofMinutes(2));
                List<dev.tandem.api.engine.TokenLogprob> lps = new ArrayList<>();
                List<Integer> ids = new ArrayList<>();
                for (RecordingListener l : List.of(a, b)) {
                    ids.addAll(java.util.Arrays.stream(l.tokens()).boxed().toList());
                    l.deltas().stream().filter(d -> d.logprobs() != null).forEach(d -> lps.addAll(d.logprobs()));
                }
                runs.add(lps);
                tokens.add(ids);
            }
        }
        assertThat(tokens.get(1)).hasSize(20).isEqualTo(tokens.get(0));
        assertThat(runs.get(1)).hasSize(20);
        for (int i = 0; i < 20; i++) {
            var want = runs.get(0).get(i);
            var got = runs.get(1).get(i);
            assertThat(got.tokenId()).isEqualTo(want.tokenId());
            assertThat(got.logprob()).isCloseTo(want.logprob(), org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(got.topIds()).containsExactly(want.topIds());
            for (int k = 0; k < want.topLogprobs().length; k++) {
                assertThat(got.topLogprobs()[k])
                        .isCloseTo(want.topLogprobs()[k], org.assertj.core.data.Offset.offset(1e-4f));
            }
        }
        if (gpu instanceof EmulatedGpu emulated) {
            assertThat(emulated.launched("logprobs_rows"))
                    .as("logprobs computed on the device")
                    .isGreaterThanOrEqualTo(10);
        }
    }

    /** With tensor cores, batched bf16 steps (prefill, more than 8 decodes) still give the CPU engine's tokens. */
    @Test
    void tensorCoreProductsKeepBf16OutputEqualToTheCpuEngine() throws Exception {
        int[] prompt = {1, 17, 42, 99, 3, 250, 8, 60, 61, 62, 63, 64, 65};
        List<Integer> cpu;
        try (Engine e = new NativeEngineProvider().create(random("bf16"))) {
            cpu = generate(e, "cpu", prompt, SamplingParams.GREEDY, 16);
        }
        Gpu gpu = TestGpus.create();
        EngineConfig config = random("bf16");
        List<Integer> tc;
        try (Engine e = new BuiltinEngine(
                config, NativeEngineProvider.core(config, CudaEngineProvider.backends(gpu, true, true)))) {
            tc = generate(e, "tc", prompt, SamplingParams.GREEDY, 16);
        }
        assertThat(tc).isEqualTo(cpu);
        if (gpu instanceof EmulatedGpu emulated) {
            assertThat(emulated.launched("gemm_bf16_tc"))
                    .as("the 13-token prefill on tensor cores")
                    .isPositive();
        }
    }
}
