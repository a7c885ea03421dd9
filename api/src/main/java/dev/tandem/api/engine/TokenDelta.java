package dev.tandem.api.engine;

/**
 * New tokens of one request since the previous delta. The last delta of a request carries its finish reason and
 * usage; no delta follows it. The first delta may carry a provisional usage (prompt and cached prompt tokens are
 * known from admission), for callers that cancel before the end.
 *
 * @param tokenIds the new ids (may be empty in a final delta)
 * @param finishReason null until the final delta
 * @param usage the final usage in the final delta; provisional or null before
 * @param logprobs one entry per id when the request asked for log-probabilities, else null
 * @param text the text of these ids as the engine detokenized them, or null when the engine gives ids only. An
 *     external engine (an OpenAI-compatible upstream) knows its own vocabulary; a frontend that has no tokenizer
 *     for the model passes this text through.
 * @param kvTransferParams in the final delta of a request that asked to keep its KV for another worker, the
 *     opaque parameters (a JSON object) with which that worker pulls it; null otherwise
 */
public record TokenDelta(
        int[] tokenIds,
        FinishReason finishReason,
        Usage usage,
        java.util.List<TokenLogprob> logprobs,
        String text,
        String kvTransferParams) {

    public TokenDelta(
            int[] tokenIds,
            FinishReason finishReason,
            Usage usage,
            java.util.List<TokenLogprob> logprobs,
            String text) {
        this(tokenIds, finishReason, usage, logprobs, text, null);
    }

    public TokenDelta(int[] tokenIds, FinishReason finishReason, Usage usage, java.util.List<TokenLogprob> logprobs) {
        this(tokenIds, finishReason, usage, logprobs, null, null);
    }

    public TokenDelta(int[] tokenIds, FinishReason finishReason, Usage usage) {
        this(tokenIds, finishReason, usage, null, null, null);
    }

    private static final int[] NONE = new int[0];

    public static TokenDelta tokens(int... ids) {
        return new TokenDelta(ids, null, null);
    }

    public static TokenDelta finished(int[] ids, FinishReason reason, Usage usage) {
        return new TokenDelta(ids == null ? NONE : ids, reason, usage);
    }

    public boolean isFinal() {
        return finishReason != null;
    }
}
