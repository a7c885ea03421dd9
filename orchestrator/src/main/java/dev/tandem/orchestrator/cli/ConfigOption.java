package dev.tandem.orchestrator.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --config FILE}: defaults for this command's flags from a YAML file (read by {@link ConfigDefaults}). */
final class ConfigOption {

    @Option(
            names = "--config",
            description = "A YAML file of flag defaults (max-in-flight: 64); TANDEM_* environment variables"
                    + " (TANDEM_MAX_IN_FLIGHT=64) override it and flags override both.")
    Path config;
}
