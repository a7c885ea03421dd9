package dev.tandem.engine.sim;

/**
 * The {@code sim} backend's pseudo-tokens: a pure function of (seed, a rolling hash of the sequence so far), O(1) per
 * token. A request continued elsewhere with the same prefix and seed produces the same tokens, which is what makes
 * migration testable with exact outputs.
 *
 * @param seed engine seed
 * @param minToken smallest id emitted (besides EOS)
 * @param maxTokenExclusive one past the largest id emitted
 * @param eosTokenId the EOS id, or -1 for none
 * @param eosOneIn on average one in this many tokens is EOS (0 for never)
 */
public record SimTokens(long seed, int minToken, int maxTokenExclusive, int eosTokenId, int eosOneIn) {

    public SimTokens {
        if (minToken < 0 || maxTokenExclusive <= minToken) {
            throw new IllegalArgumentException("empty token range [" + minToken + ", " + maxTokenExclusive + ")");
        }
    }

    /** The rolling hash after appending {@code token} to a sequence whose hash was {@code state}. */
    public static long roll(long state, int token) {
        return mix(state * 0x9E3779B97F4A7C15L + token + 1);
    }

    /** The rolling hash of {@code tokens[0, length)}. */
    public static long hashOf(int[] tokens, int length) {
        long h = 0;
        for (int i = 0; i < length; i++) {
            h = roll(h, tokens[i]);
        }
        return h;
    }

    /** The token that follows a sequence whose rolling hash is {@code state}. */
    public int next(long state) {
        long r = mix(state ^ seed * 0xD6E8FEB86659FD93L);
        if (eosTokenId >= 0 && eosOneIn > 0 && Long.remainderUnsigned(r >>> 32, eosOneIn) == 0) {
            return eosTokenId;
        }
        return minToken + (int) Long.remainderUnsigned(r, maxTokenExclusive - minToken);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
