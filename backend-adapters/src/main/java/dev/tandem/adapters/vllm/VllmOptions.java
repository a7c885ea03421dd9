package dev.tandem.adapters.vllm;

import dev.tandem.adapters.process.ShellWords;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code vllm} engine's options; unknown keys are errors.
 *
 * @param command how to run vLLM, split like a shell would ({@code --vllm-command}, default {@code vllm})
 * @param extraArgs more arguments for {@code vllm serve} ({@code --engine-option args="..."})
 * @param cudaVisibleDevices the GPUs of this worker's child ({@code --gpus-per-worker}), or null to inherit
 * @param startupTimeout how long the child may take to answer /health (model loading)
 * @param tokenizer the model's tokenizer for the frontend, or null for the model reference itself
 */
record VllmOptions(
        List<String> command,
        List<String> extraArgs,
        String cudaVisibleDevices,
        Duration startupTimeout,
        String tokenizer) {

    static final Set<String> KEYS = Set.of("command", "args", "cuda-visible-devices", "startup-timeout", "tokenizer");

    static VllmOptions parse(Map<String, String> options) {
        Set<String> unknown = new TreeSet<>(options.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                    "unknown option(s) " + unknown + " for --engine vllm; known: " + new TreeSet<>(KEYS));
        }
        List<String> command = ShellWords.split(options.getOrDefault("command", "vllm"));
        if (command.isEmpty()) {
            throw new IllegalArgumentException("--vllm-command is empty");
        }
        long seconds;
        try {
            seconds = Long.parseLong(options.getOrDefault("startup-timeout", "1800"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("startup-timeout must be a number of seconds");
        }
        return new VllmOptions(
                command,
                ShellWords.split(options.getOrDefault("args", "")),
                options.get("cuda-visible-devices"),
                Duration.ofSeconds(seconds),
                options.get("tokenizer"));
    }
}
