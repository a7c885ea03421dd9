package dev.tandem.orchestrator.frontend;

/**
 * When the frontend prefills a prompt on another worker than the one that decodes it.
 *
 * @param maxLocalPrefillTokens a prompt whose tokens not cached on the chosen decode worker exceed this is
 *     prefilled on a prefill worker (when one has room); 0 sends every prefill to a prefill worker while one is alive
 * @param maxPrefillQueueTokens a prefill worker with this many prefill tokens queued (routed to it, first token not
 *     yet back) takes no more remote prefills
 * @param peerKvMinTokens when another worker holds at least this many more cached prompt tokens than the chosen
 *     decode worker, the prompt is prefilled there (from its cache) and its KV pulled by the decode worker, if that
 *     is predicted to be sooner
 * @param transferCostPerToken moving one token's KV, in units of prefilling one token: the transfer term of the
 *     prediction (bytes ÷ bandwidth over prefill time per token)
 */
public record Disaggregation(
        int maxLocalPrefillTokens, long maxPrefillQueueTokens, int peerKvMinTokens, double transferCostPerToken) {

    /**
     * Moving a token's KV against prefilling it: an 8B Llama's 131,072 bytes per token at 64 GB/s (Dynamo's mocker)
     * take 2.0 µs; the mocker's prefill costs 15.2 µs per token (its linear term): 0.135.
     */
    public static final double DEFAULT_TRANSFER_COST_PER_TOKEN = 131_072 / 64e9 / 15.18344e-6;

    /** Dynamo's first design: 1,000 local tokens; 4 × the engines' default batched-token budget (8,192). */
    public static final Disaggregation DEFAULTS =
            new Disaggregation(1000, 4L * 8192, 256, DEFAULT_TRANSFER_COST_PER_TOKEN);

    public Disaggregation(int maxLocalPrefillTokens, long maxPrefillQueueTokens, int peerKvMinTokens) {
        this(maxLocalPrefillTokens, maxPrefillQueueTokens, peerKvMinTokens, DEFAULT_TRANSFER_COST_PER_TOKEN);
    }

    public Disaggregation {
        if (maxLocalPrefillTokens < 0
                || maxPrefillQueueTokens < 0
                || peerKvMinTokens < 1
                || !(transferCostPerToken >= 0)) {
            throw new IllegalArgumentException("--max-local-prefill-tokens and --max-prefill-queue-tokens must be"
                    + " >= 0, --peer-kv-min-tokens >= 1");
        }
    }
}
