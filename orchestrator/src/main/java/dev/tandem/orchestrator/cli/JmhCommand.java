package dev.tandem.orchestrator.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code tandem bench jmh [JMH options] [benchmark regex]}: runs the JMH micro-benchmarks built into Tandem (e.g.
 * {@code RouterBenchmark}); every argument goes to JMH ({@code -h} lists its options).
 */
@Command(name = "jmh", description = "Run the JMH micro-benchmarks; arguments go to JMH (-h for its help, -l to list).")
public final class JmhCommand implements Callable<Integer> {

    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(args.toArray(String[]::new));
        return 0;
    }
}
