package dev.tandem.orchestrator.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Runs the {@code tandem} CLI in-process and captures what it writes to stdout. */
final class CliRun {

    private CliRun() {}

    /** Exit code and the raw stdout. */
    record Result(int code, String stdout) {}

    static Result tandem(String... args) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int code;
        try {
            System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
            code = new CommandLine(new TandemCli()).execute(args);
        } finally {
            System.setOut(saved);
        }
        return new Result(code, buffer.toString(StandardCharsets.UTF_8));
    }
}
