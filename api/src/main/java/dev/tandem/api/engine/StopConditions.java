package dev.tandem.api.engine;

import java.util.Set;

/**
 * When generation ends.
 *
 * @param maxTokens the most tokens to generate (≥ 1)
 * @param stopTokenIds extra ids that end generation (besides the model's EOS ids unless {@code ignoreEos})
 * @param ignoreEos keep generating through EOS ids (benchmarks, reference runs)
 * @param minTokens EOS and stop ids are ignored before this many tokens
 */
public record StopConditions(int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos, int minTokens) {

    public StopConditions {
        if (maxTokens < 1) {
            throw new EngineException(EngineException.Kind.INVALID_REQUEST, "max_tokens must be >= 1");
        }
        if (minTokens < 0 || minTokens > maxTokens) {
            throw new EngineException(EngineException.Kind.INVALID_REQUEST, "min_tokens must be in [0, max_tokens]");
        }
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    public static StopConditions maxTokens(int maxTokens) {
        return new StopConditions(maxTokens, Set.of(), false, 0);
    }

    public StopConditions withIgnoreEos(boolean ignore) {
        return new StopConditions(maxTokens, stopTokenIds, ignore, minTokens);
    }

    public StopConditions withMaxTokens(int max) {
        return new StopConditions(max, stopTokenIds, ignoreEos, Math.min(minTokens, max));
    }
}
