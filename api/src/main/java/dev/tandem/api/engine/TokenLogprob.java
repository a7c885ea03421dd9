package dev.tandem.api.engine;

/**
 * The log-probability of a generated token under the model's distribution (before sampling adjustments such as
 * temperature or penalties), and the most likely alternatives at that position.
 *
 * @param tokenId the generated token
 * @param logprob its natural-log probability
 * @param topIds the most likely tokens, most likely first (as many as the request asked for)
 * @param topLogprobs their log-probabilities
 */
public record TokenLogprob(int tokenId, float logprob, int[] topIds, float[] topLogprobs) {}
