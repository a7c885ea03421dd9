package dev.tandem.orchestrator.bench;

/**
 * Token ids for trace requests: each hash id stands for a fixed run of 512 pseudo-random tokens, so two requests
 * whose hash ids agree up to a position have identical prompts token for token up to there. Tokens past the last
 * hash id (when a trace has them) are unique to the request.
 */
public final class TracePrompts {

    private final int vocabSize;

    public TracePrompts(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public int[] prompt(TraceRequest r, long requestIndex) {
        int[] tokens = new int[r.inputLength()];
        int block = TraceRequest.TRACE_BLOCK;
        for (int i = 0; i < tokens.length; i++) {
            int b = i / block;
            long key = b < r.hashIds().length
                    ? r.hashIds()[b] * 1_000_003L + (i % block)
                    : ~(requestIndex * 1_000_003L + i);
            tokens[i] = (int) Long.remainderUnsigned(mix(key), vocabSize);
        }
        return tokens;
    }

    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
