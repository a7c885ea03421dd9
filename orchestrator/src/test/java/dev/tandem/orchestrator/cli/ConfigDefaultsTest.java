package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Flags win, then TANDEM_* environment variables, then the --config YAML file, then the flags' own defaults. */
class ConfigDefaultsTest {

    @TempDir
    Path dir;

    private static CommandLine.ParseResult parsed;

    private static ServeCommand parse(ConfigDefaults defaults, String... args) {
        CommandLine cli = new CommandLine(new TandemCli());
        cli.setDefaultValueProvider(defaults);
        parsed = cli.parseArgs(args);
        return (ServeCommand) parsed.subcommand().commandSpec().userObject();
    }

    @Test
    void aFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault() throws Exception {
        Path f = dir.resolve("tandem.yaml");
        Files.writeString(f, "# serving defaults\nmax-in-flight: 5\nworkers: 3\nblock-size: 32\nrouter: kv\n");
        ConfigDefaults d = new ConfigDefaults(Map.of("TANDEM_MAX_IN_FLIGHT", "7"), ConfigDefaults.load(f));
        ServeCommand s = parse(d, "serve", "--config", f.toString(), "--block-size", "64");
        assertThat(s.http.maxInFlight).isEqualTo(7); // environment over file
        assertThat(s.workers).isEqualTo(3); // file over default
        assertThat(s.router.name).isEqualTo("kv");
        assertThat(s.blockSize).isEqualTo(64); // flag over file
        assertThat(s.kvBlocks).isEqualTo(16384); // nobody set it: the default
        assertThat(d.unused(parsed.subcommand().commandSpec())).isEmpty();
    }

    @Test
    void keysNoOptionReadAreReportedAndBadFilesAreRefusedWithTheirReason() throws Exception {
        Path f = dir.resolve("typo.yaml");
        Files.writeString(f, "max-inflight: 5\n");
        ConfigDefaults d = new ConfigDefaults(Map.of(), ConfigDefaults.load(f));
        parse(d, "serve");
        assertThat(d.unused(parsed.subcommand().commandSpec())).containsExactly("max-inflight");
        Path list = dir.resolve("list.yaml");
        Files.writeString(list, "- a\n- b\n");
        assertThatThrownBy(() -> ConfigDefaults.load(list)).hasMessageContaining("mapping");
        Path repeated = dir.resolve("repeated.yaml");
        Files.writeString(repeated, "upstream:\n  - http://a/v1\n  - http://b/v1\n");
        assertThatThrownBy(() -> ConfigDefaults.load(repeated)).hasMessageContaining("command line");
        assertThatThrownBy(() -> ConfigDefaults.load(dir.resolve("missing.yaml")))
                .hasMessageContaining("cannot read --config");
        assertThat(ConfigDefaults.configFile(new String[] {"serve", "--config=x.yaml"}))
                .isEqualTo(Path.of("x.yaml"));
        assertThat(ConfigDefaults.configFile(new String[] {"serve"})).isNull();
    }
}
