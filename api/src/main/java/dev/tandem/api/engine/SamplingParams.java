package dev.tandem.api.engine;

/**
 * How the next token is chosen. Immutable; validated on construction so that every engine sees only sane values.
 *
 * @param temperature 0 means greedy
 * @param topP nucleus mass in (0, 1]
 * @param topK 0 disables
 * @param minP 0 disables
 * @param seed null for an engine-chosen seed; otherwise sampling is reproducible per request
 * @param repetitionPenalty 1 disables
 * @param presencePenalty 0 disables
 * @param frequencyPenalty 0 disables
 * @param logprobs -1 for none; k ≥ 0 to return each generated token's log-probability and the top k alternatives
 */
public record SamplingParams(
        double temperature,
        double topP,
        int topK,
        double minP,
        Long seed,
        double repetitionPenalty,
        double presencePenalty,
        double frequencyPenalty,
        int logprobs) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, 0, null, 1, 0, 0, -1);

    public SamplingParams {
        require(temperature >= 0 && Double.isFinite(temperature), "temperature must be >= 0");
        require(topP > 0 && topP <= 1, "top_p must be in (0, 1]");
        require(topK >= 0, "top_k must be >= 0");
        require(minP >= 0 && minP <= 1, "min_p must be in [0, 1]");
        require(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty), "repetition_penalty must be > 0");
        require(Double.isFinite(presencePenalty), "presence_penalty must be finite");
        require(Double.isFinite(frequencyPenalty), "frequency_penalty must be finite");
        require(logprobs >= -1, "logprobs must be >= 0, or -1 for none");
    }

    public boolean wantsLogprobs() {
        return logprobs >= 0;
    }

    public SamplingParams withLogprobs(int k) {
        return new SamplingParams(
                temperature, topP, topK, minP, seed, repetitionPenalty, presencePenalty, frequencyPenalty, k);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingParams withTemperature(double t) {
        return new SamplingParams(
                t, topP, topK, minP, seed, repetitionPenalty, presencePenalty, frequencyPenalty, logprobs);
    }

    public SamplingParams withTopP(double p) {
        return new SamplingParams(
                temperature, p, topK, minP, seed, repetitionPenalty, presencePenalty, frequencyPenalty, logprobs);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(
                temperature, topP, topK, minP, s, repetitionPenalty, presencePenalty, frequencyPenalty, logprobs);
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new EngineException(EngineException.Kind.INVALID_REQUEST, message);
        }
    }
}
