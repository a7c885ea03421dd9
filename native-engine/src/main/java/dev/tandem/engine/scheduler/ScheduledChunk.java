package dev.tandem.engine.scheduler;

/**
 * Work for one sequence in one step: compute KV for positions [start, start + tokens).
 *
 * @param sequence the sequence
 * @param start first position computed
 * @param tokens how many positions
 * @param samples whether the chunk reaches the end of the sequence, so a token is sampled after it
 * @param decode whether this is a decode (one new generated token) rather than prefill or recompute
 */
public record ScheduledChunk(Sequence sequence, int start, int tokens, boolean samples, boolean decode) {}
