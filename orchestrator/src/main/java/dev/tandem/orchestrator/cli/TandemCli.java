package dev.tandem.orchestrator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code tandem}: the command-line front door. Each role or tool is a subcommand. */
@Command(
        name = "tandem",
        mixinStandardHelpOptions = true,
        version = "tandem 0.1.0",
        description = "Tandem: a JVM-native orchestration layer for LLM inference.",
        subcommands = {
            ServeCommand.class,
            FrontendCommand.class,
            WorkerCommand.class,
            GenerateCommand.class,
            BenchCommand.class,
            WriteModelCommand.class,
            ConformanceCommand.class,
            CommandLine.HelpCommand.class
        })
public final class TandemCli implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new TandemCli());
        ConfigDefaults defaults;
        try {
            java.nio.file.Path config = ConfigDefaults.configFile(args);
            defaults = new ConfigDefaults(
                    System.getenv(), config == null ? java.util.Map.of() : ConfigDefaults.load(config));
        } catch (IllegalArgumentException e) {
            System.err.println("tandem: " + e.getMessage());
            System.exit(1);
            return;
        }
        cli.setDefaultValueProvider(defaults);
        cli.setExecutionStrategy(parsed -> {
            // A key of --config that no option read is most likely misspelt: say so rather than ignore it.
            var command = parsed.asCommandLineList().getLast().getCommandSpec();
            var unused = defaults.unused(command);
            if (!unused.isEmpty()) {
                command.commandLine().getErr().println("tandem: --config keys no flag of this command has: " + unused);
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        // Operators get one line saying what is wrong, not a stack trace; unexpected failures keep theirs.
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException
                    || e instanceof UnsupportedOperationException
                    || e instanceof dev.tandem.api.engine.EngineException
                    || e instanceof java.io.IOException) {
                cmd.getErr().println("tandem: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(System.err);
        return 2;
    }
}
