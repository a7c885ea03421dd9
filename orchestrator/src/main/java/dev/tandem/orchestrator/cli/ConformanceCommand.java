package dev.tandem.orchestrator.cli;

import dev.tandem.conformance.http.ConformanceReport;
import dev.tandem.conformance.http.HttpConformance;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem conformance}: the HTTP TCK against any OpenAI-compatible base URL. Prints a table of cases and,
 * last, {@code N passed, N failed, N skipped}; exits 1 when a case failed. Flags and the closing line are a contract.
 */
@Command(
        name = "conformance",
        mixinStandardHelpOptions = true,
        description = "Check an OpenAI-compatible server (Tandem, vLLM, SGLang, ...) against the HTTP TCK.")
public final class ConformanceCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, description = "The API's base URL, e.g. http://127.0.0.1:8000/v1.")
    String url;

    @Option(names = "--model", description = "The model to test (default: the first that /models lists).")
    String model;

    @Option(names = "--json", description = "Print the results as JSON instead of a table.")
    boolean json;

    @Option(
            names = "--timeout",
            defaultValue = "120",
            description = "Seconds one request may take (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() {
        var results = new HttpConformance(url, model, Duration.ofSeconds(timeoutSeconds)).run();
        ConformanceReport report = new ConformanceReport(results);
        if (json) {
            report.printJson(System.out, url, model);
        } else {
            report.printTable(System.out, url, model);
        }
        return report.passed() ? 0 : 1;
    }
}
