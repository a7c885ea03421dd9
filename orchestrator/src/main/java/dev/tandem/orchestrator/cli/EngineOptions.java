package dev.tandem.orchestrator.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Engine settings shared by {@code serve} and {@code worker}. Flag names are a contract. */
final class EngineOptions {

    @Option(
            names = "--dtype",
            defaultValue = "f32",
            description = "Weights of the built-in engine: f32, bf16 or int8 (native), f32 or bf16 (cuda) (default:"
                    + " ${DEFAULT-VALUE}).")
    String dtype;

    @Option(
            names = "--device",
            paramLabel = "N",
            description = "The GPU of --engine cuda (default: 0); with several workers, the first worker's.")
    Integer device;

    @Option(
            names = "--upstream",
            paramLabel = "URL",
            description = "An OpenAI-compatible server's base URL ending in /v1, for --engine openai; serve takes one"
                    + " per worker (repeat the flag), worker takes one.")
    List<String> upstreams = new ArrayList<>();

    @Option(
            names = "--tokenizer",
            paramLabel = "PATH|ORG/NAME",
            description = "The external model's tokenizer (Hugging Face tokenizer.json or directory, or a hub name):"
                    + " the frontend then tokenizes text and chat prompts, routes on their KV blocks and migrates them"
                    + " exactly. Without it, --engine openai passes text and chat through to the upstream (load-only"
                    + " routing, no migration after the first token); vllm, sglang and trtllm default to --model.")
    String tokenizer;

    @Option(
            names = "--vllm-command",
            paramLabel = "COMMAND",
            description = "How to run vLLM for --engine vllm, split like a shell would (default: vllm); each worker"
                    + " runs COMMAND serve MODEL ... as its child.")
    String vllmCommand;

    @Option(
            names = "--sglang-command",
            paramLabel = "COMMAND",
            description = "How to run SGLang for --engine sglang, split like a shell would (default: python3 -m"
                    + " sglang.launch_server); each worker runs COMMAND --model-path MODEL ... as its child.")
    String sglangCommand;

    @Option(
            names = "--trtllm-command",
            paramLabel = "COMMAND",
            description = "How to run TensorRT-LLM for --engine trtllm, split like a shell would (default:"
                    + " trtllm-serve); each worker runs COMMAND MODEL ... as its child.")
    String trtllmCommand;

    @Option(
            names = "--gpus-per-worker",
            paramLabel = "N",
            description = "GPUs of each worker's vLLM, SGLang or TensorRT-LLM child: worker i gets"
                    + " CUDA_VISIBLE_DEVICES i*N..i*N+N-1.")
    Integer gpusPerWorker;

    @Option(
            names = "--engine-option",
            paramLabel = "KEY=VALUE",
            description = "An engine-specific option (repeatable); each engine rejects keys it does not know.")
    Map<String, String> extra = new LinkedHashMap<>();

    /** Engines whose workers each front one upstream server. */
    static boolean fronts(String engine) {
        return engine.equals("openai");
    }

    /** The options every worker of {@code engine} gets. */
    Map<String, String> common(String engine) {
        Map<String, String> m = new HashMap<>();
        if (engine.equals("native") || engine.equals("cuda")) {
            m.put("dtype", dtype);
        } else if (!dtype.equals("f32")) {
            throw new IllegalArgumentException("--dtype applies to --engine native and cuda only");
        }
        ComputeOptions.putDevice(m, engine, device);
        boolean launched = engine.equals("vllm") || engine.equals("sglang") || engine.equals("trtllm");
        boolean external = fronts(engine) || launched;
        if (!fronts(engine) && !upstreams.isEmpty()) {
            throw new IllegalArgumentException("--upstream applies to --engine openai only");
        }
        if (!external && tokenizer != null) {
            throw new IllegalArgumentException(
                    "--tokenizer applies to external engines (openai, vllm, sglang, trtllm) only");
        }
        if (!engine.equals("vllm") && vllmCommand != null) {
            throw new IllegalArgumentException("--vllm-command applies to --engine vllm only");
        }
        if (!engine.equals("sglang") && sglangCommand != null) {
            throw new IllegalArgumentException("--sglang-command applies to --engine sglang only");
        }
        if (!engine.equals("trtllm") && trtllmCommand != null) {
            throw new IllegalArgumentException("--trtllm-command applies to --engine trtllm only");
        }
        if (!launched && gpusPerWorker != null) {
            throw new IllegalArgumentException("--gpus-per-worker applies to --engine vllm and sglang only");
        }
        if (vllmCommand != null) {
            m.put("command", vllmCommand);
        }
        if (sglangCommand != null) {
            m.put("command", sglangCommand);
        }
        if (trtllmCommand != null) {
            m.put("command", trtllmCommand);
        }
        if (tokenizer != null) {
            m.put("tokenizer", tokenizer);
        }
        m.putAll(extra);
        return m;
    }

    /** Options of each of {@code workers} workers on top of the common ones (their GPUs); empty for none. */
    List<Map<String, String>> perWorker(String engine, int workers) {
        if (fronts(engine)) {
            return perUpstream(engine);
        }
        if (engine.equals("cuda") && workers > 1) {
            // One GPU per worker, as one engine per GPU: worker i on device --device + i.
            int base = device == null ? 0 : device;
            List<Map<String, String>> out = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                out.add(Map.of("device", String.valueOf(base + i)));
            }
            return out;
        }
        if (gpusPerWorker == null) {
            return List.of();
        }
        if (gpusPerWorker < 1) {
            throw new IllegalArgumentException("--gpus-per-worker must be at least 1");
        }
        List<Map<String, String>> out = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            StringBuilder devices = new StringBuilder();
            for (int g = 0; g < gpusPerWorker; g++) {
                devices.append(g == 0 ? "" : ",").append(i * gpusPerWorker + g);
            }
            out.add(Map.of("cuda-visible-devices", devices.toString()));
        }
        return out;
    }

    /** One options map per upstream, for engines that front one each; empty for the others. */
    List<Map<String, String>> perUpstream(String engine) {
        if (!fronts(engine)) {
            return List.of();
        }
        if (upstreams.isEmpty()) {
            throw new IllegalArgumentException(
                    "--engine " + engine + " needs --upstream URL (the base URL ending in" + " /v1)");
        }
        return upstreams.stream().map(u -> Map.of("upstream", u)).toList();
    }
}
