package dev.tandem.conformance.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.List;

/** Renders results as a table ending with {@code N passed, N failed, N skipped}, or as JSON. */
public final class ConformanceReport {

    private final List<CaseResult> results;

    public ConformanceReport(List<CaseResult> results) {
        this.results = List.copyOf(results);
    }

    public long count(CaseResult.Outcome o) {
        return results.stream().filter(r -> r.outcome() == o).count();
    }

    public boolean passed() {
        return count(CaseResult.Outcome.FAILED) == 0;
    }

    /** The closing line; a contract for scripts. */
    public String summary() {
        return count(CaseResult.Outcome.PASSED) + " passed, " + count(CaseResult.Outcome.FAILED) + " failed, "
                + count(CaseResult.Outcome.SKIPPED) + " skipped";
    }

    public void printTable(PrintStream out, String url, String model) {
        out.printf("conformance of %s (model %s)%n", url, model == null ? "first listed" : model);
        int width = results.stream().mapToInt(r -> r.name().length()).max().orElse(10);
        for (CaseResult r : results) {
            out.printf(
                    "%-" + width + "s  %-7s %6d ms  %s%n",
                    r.name(),
                    r.outcome().name().toLowerCase(java.util.Locale.ROOT),
                    r.millis(),
                    r.detail());
        }
        out.println();
        out.println(summary());
    }

    public void printJson(PrintStream out, String url, String model) {
        ObjectNode root = OpenAiHttpClient.JSON.createObjectNode();
        root.put("url", url);
        root.put("model", model);
        root.put("passed", count(CaseResult.Outcome.PASSED));
        root.put("failed", count(CaseResult.Outcome.FAILED));
        root.put("skipped", count(CaseResult.Outcome.SKIPPED));
        ArrayNode cases = root.putArray("cases");
        for (CaseResult r : results) {
            cases.addObject()
                    .put("name", r.name())
                    .put("outcome", r.outcome().name().toLowerCase(java.util.Locale.ROOT))
                    .put("detail", r.detail())
                    .put("millis", r.millis());
        }
        out.println(root.toPrettyString());
    }
}
