package dev.tandem.orchestrator.frontend;

/**
 * When the frontend prefills a prompt on another worker than the one that decodes it.
 *
 * @param maxLocalPrefillTokens a prompt whose tokens not cached on the chosen decode worker exceed this is
 *     prefilled on a prefill worker (when one has room); 0 sends every prefill to a prefill worker while one is alive
 * @param maxPrefillQueueTokens a prefill worker with this many prefill tokens queued (routed to it, first token not
 *     yet back) takes no more remote prefills
 * @param peerKvMinTokens when another worker holds at least this many more cached prompt tokens than the chosen
 *     decode worker, the prompt is prefilled there (from its cache) and its KV pulled by the decode worker
 */
public record Disaggregation(int maxLocalPrefillTokens, long maxPrefillQueueTokens, int peerKvMinTokens) {

    /** Dynamo's first design: 1,000 local tokens; 4 × the engines' default batched-token budget (8,192). */
    public static final Disaggregation DEFAULTS = new Disaggregation(1000, 4L * 8192, 256);

    public Disaggregation {
        if (maxLocalPrefillTokens < 0 || maxPrefillQueueTokens < 0 || peerKvMinTokens < 1) {
            throw new IllegalArgumentException("--max-local-prefill-tokens and --max-prefill-queue-tokens must be"
                    + " >= 0, --peer-kv-min-tokens >= 1");
        }
    }
}
