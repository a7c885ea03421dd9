package dev.tandem.engine.compute;

/**
 * The result of one step.
 *
 * @param sampledTokens one token per sampling chunk of the plan, in plan order
 * @param modeledNanos time the step is modeled to take, still to be waited by the engine loop (0 for backends whose
 *     compute really took the time)
 * @param logprobs per sampled token, its log-probability when the request asked for them (else null entries);
 *     null when no request of the step asked
 */
public record StepOutput(int[] sampledTokens, long modeledNanos, dev.tandem.api.engine.TokenLogprob[] logprobs) {

    public StepOutput(int[] sampledTokens, long modeledNanos) {
        this(sampledTokens, modeledNanos, null);
    }
}
