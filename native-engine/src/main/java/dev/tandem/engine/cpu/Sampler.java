package dev.tandem.engine.cpu;

import dev.tandem.api.engine.SamplingParams;
import dev.tandem.engine.scheduler.Sequence;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from logits: greedy at temperature 0 (the first maximum, as llama2.c), otherwise
 * penalties, temperature, top-k, min-p and top-p, then a draw from a per-request generator seeded by the request's
 * seed (so a seeded request reproduces). Owned by the engine thread.
 */
public final class Sampler {

    private final SplittableRandom seeds;

    public Sampler() {
        this(new SplittableRandom());
    }

    /** A sampler whose unseeded requests draw from generators split off {@code seeds} (reproducible in tests). */
    Sampler(SplittableRandom seeds) {
        this.seeds = seeds;
    }

    public int sample(float[] logits, int vocab, Sequence seq) {
        SamplingParams p = seq.request().sampling();
        applyPenalties(logits, vocab, seq, p);
        if (p.isGreedy()) {
            return argmax(logits, vocab);
        }
        float inv = (float) (1 / p.temperature());
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            logits[i] *= inv;
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        double[] prob = new double[vocab];
        for (int i = 0; i < vocab; i++) {
            prob[i] = Math.exp(logits[i] - max);
            sum += prob[i];
        }
        Integer[] order = null;
        int keep = vocab;
        if (p.topK() > 0 && p.topK() < vocab) {
            keep = p.topK();
        }
        if (keep < vocab || p.topP() < 1 || p.minP() > 0) {
            order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) {
                order[i] = i;
            }
            final double[] pr = prob;
            Arrays.sort(order, (a, b) -> Double.compare(pr[b], pr[a]));
            double top = prob[order[0]];
            double mass = 0;
            int n = 0;
            for (; n < keep; n++) {
                double q = prob[order[n]];
                if (p.minP() > 0 && q < p.minP() * top) {
                    break;
                }
                mass += q / sum;
                if (mass >= p.topP()) {
                    n++;
                    break;
                }
            }
            keep = Math.max(1, n);
        }
        double r = rng(seq, p).nextDouble();
        if (order == null) {
            double acc = 0;
            for (int i = 0; i < vocab; i++) {
                acc += prob[i] / sum;
                if (r < acc) {
                    return i;
                }
            }
            return vocab - 1;
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += prob[order[i]];
        }
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += prob[order[i]] / kept;
            if (r < acc) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /**
     * Whether {@code p} samples from the whole tempered distribution: a temperature, and no penalties, top-k, top-p or
     * min-p (then a device can draw the token itself from the uniform {@link #uniform} gives).
     */
    public static boolean isPlainTemperature(SamplingParams p, int vocab) {
        return !p.isGreedy()
                && p.repetitionPenalty() == 1
                && p.presencePenalty() == 0
                && p.frequencyPenalty() == 0
                && (p.topK() == 0 || p.topK() >= vocab)
                && p.topP() >= 1
                && p.minP() <= 0;
    }

    /** The uniform draw {@link #sample} would make for {@code seq}'s next token (the same generator, consumed once). */
    public double uniform(Sequence seq) {
        return rng(seq, seq.request().sampling()).nextDouble();
    }

    private SplittableRandom rng(Sequence seq, SamplingParams p) {
        if (p.seed() != null) {
            // A seeded draw depends on (seed, position) only, not on how many draws this engine made before: a
            // request continued on another worker (migration, remote prefill then decode) samples the same tokens.
            return new SplittableRandom(p.seed() * 0x9E3779B97F4A7C15L + seq.length());
        }
        if (seq.backendData instanceof SplittableRandom r) {
            return r;
        }
        SplittableRandom r = seeds.split();
        seq.backendData = r;
        return r;
    }

    static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private static void applyPenalties(float[] logits, int vocab, Sequence seq, SamplingParams p) {
        if (p.repetitionPenalty() == 1 && p.presencePenalty() == 0 && p.frequencyPenalty() == 0) {
            return;
        }
        int[] counts = new int[vocab];
        int[] t = seq.tokensRaw();
        for (int i = seq.promptLength(); i < seq.length(); i++) {
            counts[t[i]]++;
        }
        boolean[] seen = new boolean[vocab];
        for (int i = 0; i < seq.length(); i++) {
            seen[t[i]] = true;
        }
        float rep = (float) p.repetitionPenalty();
        for (int i = 0; i < vocab; i++) {
            if (rep != 1 && seen[i]) {
                logits[i] = logits[i] > 0 ? logits[i] / rep : logits[i] * rep;
            }
            if (counts[i] > 0) {
                logits[i] -= (float) (p.frequencyPenalty() * counts[i] + p.presencePenalty());
            }
        }
    }
}
