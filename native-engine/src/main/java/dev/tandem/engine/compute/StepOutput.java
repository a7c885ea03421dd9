package dev.tandem.engine.compute;

/**
 * The result of one step.
 *
 * @param sampledTokens one token per sampling chunk of the plan, in plan order
 * @param modeledNanos time the step is modeled to take, still to be waited by the engine loop (0 for backends whose
 *     compute really took the time)
 */
public record StepOutput(int[] sampledTokens, long modeledNanos) {}
