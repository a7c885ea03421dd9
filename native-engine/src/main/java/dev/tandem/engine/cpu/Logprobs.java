package dev.tandem.engine.cpu;

import dev.tandem.api.engine.TokenLogprob;

/** Log-softmax of raw logits: the chosen token's log-probability and the k most likely tokens'. */
public final class Logprobs {

    private Logprobs() {}

    public static TokenLogprob of(float[] logits, int vocab, int chosen, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[i] - max);
        }
        double logZ = max + Math.log(sum);
        int n = Math.min(k, vocab);
        int[] top = new int[n];
        float[] topLp = new float[n];
        // Selection of the n largest by repeated insertion: n is small (at most 20).
        int filled = 0;
        for (int i = 0; i < vocab && n > 0; i++) {
            float v = logits[i];
            if (filled < n || v > logits[top[filled - 1]]) {
                int j = Math.min(filled, n - 1);
                while (j > 0 && logits[top[j - 1]] < v) {
                    top[j] = top[j - 1];
                    j--;
                }
                top[j] = i;
                if (filled < n) {
                    filled++;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            topLp[i] = (float) (logits[top[i]] - logZ);
        }
        return new TokenLogprob(chosen, (float) (logits[chosen] - logZ), top, topLp);
    }
}
