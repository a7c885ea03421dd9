package dev.tandem.api.engine;

/**
 * Token accounting of one request.
 *
 * @param promptTokens tokens in the prompt
 * @param cachedPromptTokens prompt tokens whose KV came from a cache that existed before the request (the local
 *     prefix cache, a host or disk tier, a peer's cache) instead of being computed
 * @param completionTokens generated tokens
 * @param kvTransferredTokens prompt tokens whose KV this worker received from another worker (a prefill worker or a
 *     peer) instead of computing it; 0 when none
 */
public record Usage(int promptTokens, int cachedPromptTokens, int completionTokens, int kvTransferredTokens) {

    public Usage(int promptTokens, int cachedPromptTokens, int completionTokens) {
        this(promptTokens, cachedPromptTokens, completionTokens, 0);
    }

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
