package dev.tandem.orchestrator.cli;

import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --dtype} and {@code --threads} of commands that run one in-process engine; as engine options. */
final class ComputeOptions {

    @Option(
            names = "--dtype",
            defaultValue = "f32",
            description = "Weights: f32, bf16 or int8 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", description = "Compute threads (default: the cores).")
    Integer threads;

    Map<String, String> engineOptions() {
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, not " + threads);
        }
        Map<String, String> options = new HashMap<>(Map.of("dtype", dtype));
        if (threads != null) {
            options.put("threads", String.valueOf(threads));
        }
        return options;
    }

    int threadCount() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
