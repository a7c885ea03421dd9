package dev.tandem.orchestrator.bench;

/**
 * One request of a Mooncake-format trace.
 *
 * @param timestampMs arrival, milliseconds from the trace's start
 * @param inputLength prompt tokens
 * @param outputLength tokens to generate (EOS ignored)
 * @param hashIds ids of the prompt's 512-token blocks; equal ids at equal positions mean equal prefixes
 */
public record TraceRequest(long timestampMs, int inputLength, int outputLength, long[] hashIds) {

    /** Tokens per hash id in Mooncake traces. */
    public static final int TRACE_BLOCK = 512;
}
