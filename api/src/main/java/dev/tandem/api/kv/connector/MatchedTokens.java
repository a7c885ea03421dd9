package dev.tandem.api.kv.connector;

/**
 * A connector's answer to "how many more tokens can you provide?".
 *
 * @param tokens tokens beyond the computed ones whose KV the connector provides (0: none)
 * @param unknownYet the connector cannot tell yet; the engine asks again at a later step (the request waits)
 * @param async the load happens in the background: the request waits until {@link KvConnector#finished()} reports it
 *     received; otherwise the connector loads during the next step's {@link KvConnector#startLoad}
 * @param cacheHit the tokens come from a cache that existed before the request (a tier, a peer's prefix cache) and
 *     count as cached prompt tokens; false for KV a prefill worker computed for this very request
 */
public record MatchedTokens(int tokens, boolean unknownYet, boolean async, boolean cacheHit) {

    public static final MatchedTokens NONE = new MatchedTokens(0, false, false, false);
    public static final MatchedTokens ASK_AGAIN = new MatchedTokens(0, true, false, false);

    public MatchedTokens {
        if (tokens < 0) {
            throw new IllegalArgumentException("negative token count");
        }
    }
}
