package dev.tandem.orchestrator.cli;

import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * {@code --dtype}, {@code --threads} and {@code --device} of commands that run one in-process engine; as engine
 * options.
 */
final class ComputeOptions {

    @Option(
            names = "--dtype",
            defaultValue = "f32",
            description = "Weights: f32, bf16 or int8 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", description = "Compute threads (default: the cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "N", description = "The GPU of --engine cuda (default: 0).")
    Integer device;

    Map<String, String> engineOptions(String engine) {
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, not " + threads);
        }
        Map<String, String> options = new HashMap<>(Map.of("dtype", dtype));
        if (threads != null) {
            options.put("threads", String.valueOf(threads));
        }
        putDevice(options, engine, device);
        return options;
    }

    /** Adds {@code --device} (when given) as the cuda engine's option {@code device}; other engines refuse it. */
    static void putDevice(Map<String, String> options, String engine, Integer device) {
        if (device == null) {
            return;
        }
        if (!engine.equals("cuda")) {
            throw new IllegalArgumentException("--device applies to --engine cuda only");
        }
        if (device < 0) {
            throw new IllegalArgumentException("--device must be a GPU index (0, 1, ...), not " + device);
        }
        options.put("device", String.valueOf(device));
    }

    int threadCount() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
