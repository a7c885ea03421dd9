package dev.tandem.conformance.http;

/**
 * The outcome of one conformance case.
 *
 * @param name stable case name ({@code area.what}), a contract for scripts that grep the table
 * @param outcome passed, failed or skipped (only where the server declines an optional feature)
 * @param detail why it failed or was skipped; empty when it passed
 * @param millis how long the case took
 */
public record CaseResult(String name, Outcome outcome, String detail, long millis) {

    public enum Outcome {
        PASSED,
        FAILED,
        SKIPPED
    }
}
