package dev.tandem.orchestrator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code tandem bench}: benchmarks; each is a subcommand. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks (results on stdout; --json for machines).",
        subcommands = {
            ReplayCommand.class,
            BenchEngineCommand.class,
            BenchTransferCommand.class,
            BenchServeCommand.class,
            JmhCommand.class
        })
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(System.err);
        return 2;
    }
}
