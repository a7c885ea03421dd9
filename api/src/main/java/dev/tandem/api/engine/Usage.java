package dev.tandem.api.engine;

/**
 * Token accounting of one request.
 *
 * @param promptTokens tokens in the prompt
 * @param cachedPromptTokens prompt tokens whose KV came from the prefix cache instead of being computed
 * @param completionTokens generated tokens
 */
public record Usage(int promptTokens, int cachedPromptTokens, int completionTokens) {

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
