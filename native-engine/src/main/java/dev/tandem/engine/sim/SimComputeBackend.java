package dev.tandem.engine.sim;

import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.scheduler.ScheduledChunk;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.scheduler.StepPlan;

/**
 * The {@code sim} backend ("mocker"): no arithmetic, a timing model of each step ({@link SimTimingModel}) and
 * deterministic pseudo-tokens ({@link SimTokens}). It drives router and disaggregation studies at scale.
 */
public final class SimComputeBackend implements ComputeBackend {

    private final SimTokens tokens;
    private final int vocabSize;
    private final int contextLength;

    public SimComputeBackend(SimTokens tokens, int vocabSize, int contextLength) {
        this.tokens = tokens;
        this.vocabSize = vocabSize;
        this.contextLength = contextLength;
    }

    @Override
    public StepOutput execute(StepPlan plan) {
        int samples = 0;
        for (ScheduledChunk c : plan.chunks()) {
            if (c.samples()) {
                samples++;
            }
        }
        int[] out = new int[samples];
        TokenLogprob[] logprobs = null;
        int i = 0;
        for (ScheduledChunk c : plan.chunks()) {
            if (c.samples()) {
                Sequence seq = c.sequence();
                // The rolling hash covers the whole sequence; recomputing it after a preemption costs O(length)
                // once, and every decode after that is O(1).
                if (c.decode()) {
                    seq.backendState = SimTokens.roll(seq.backendState, seq.token(seq.length() - 1));
                } else {
                    seq.backendState = SimTokens.hashOf(seq.tokensRaw(), seq.length());
                }
                out[i] = tokens.next(seq.backendState);
                int k = seq.request().sampling().logprobs();
                if (k >= 0) {
                    // The sim's "model" is deterministic: the token it emits has probability 1, and no other has any.
                    if (logprobs == null) {
                        logprobs = new TokenLogprob[samples];
                    }
                    logprobs[i] = k == 0
                            ? new TokenLogprob(out[i], 0f, new int[0], new float[0])
                            : new TokenLogprob(out[i], 0f, new int[] {out[i]}, new float[] {0f});
                }
                i++;
            }
        }
        double usage = plan.kvBlocksTotal() == 0 ? 0 : (double) plan.kvBlocksUsed() / plan.kvBlocksTotal();
        double ms = SimTimingModel.stepMillis(plan.prefillTokens(), plan.decodeSequences(), usage);
        return new StepOutput(out, (long) (ms * 1e6), logprobs);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }
}
