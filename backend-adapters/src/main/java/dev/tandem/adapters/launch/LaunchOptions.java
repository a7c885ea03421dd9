package dev.tandem.adapters.launch;

import dev.tandem.adapters.process.ShellWords;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The options of an engine this worker launches; unknown keys are errors.
 *
 * @param command how to run the server, split like a shell would ({@code --vllm-command}, {@code --sglang-command})
 * @param extraArgs more arguments for it ({@code --engine-option args="..."})
 * @param cudaVisibleDevices the GPUs of this worker's child ({@code --gpus-per-worker}), or null to inherit
 * @param startupTimeout how long the child may take to answer its health URL (model loading)
 * @param tokenizer the model's tokenizer for the frontend, or null for the model reference itself
 */
public record LaunchOptions(
        List<String> command,
        List<String> extraArgs,
        String cudaVisibleDevices,
        Duration startupTimeout,
        String tokenizer) {

    static final Set<String> KEYS = Set.of("command", "args", "cuda-visible-devices", "startup-timeout", "tokenizer");

    static LaunchOptions parse(String engine, String defaultCommand, Map<String, String> options) {
        Set<String> unknown = new TreeSet<>(options.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                    "unknown option(s) " + unknown + " for --engine " + engine + "; known: " + new TreeSet<>(KEYS));
        }
        List<String> command = ShellWords.split(options.getOrDefault("command", defaultCommand));
        if (command.isEmpty()) {
            throw new IllegalArgumentException("the --" + engine + "-command is empty");
        }
        long seconds;
        try {
            seconds = Long.parseLong(options.getOrDefault("startup-timeout", "1800"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("startup-timeout must be a number of seconds");
        }
        return new LaunchOptions(
                command,
                ShellWords.split(options.getOrDefault("args", "")),
                options.get("cuda-visible-devices"),
                Duration.ofSeconds(seconds),
                options.get("tokenizer"));
    }
}
