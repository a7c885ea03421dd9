package dev.tandem.engine.testing;

import dev.tandem.engine.sim.SimTokens;
import java.util.Arrays;

/** The tokens the sim must produce, computed the slow and obvious way: a fresh hash of the whole sequence each time. */
public final class SimReference {

    private SimReference() {}

    public static int[] continuation(SimTokens tokens, int[] prompt, int n) {
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        for (int i = 0; i < n; i++) {
            int len = prompt.length + i;
            all[len] = tokens.next(SimTokens.hashOf(all, len));
        }
        return Arrays.copyOfRange(all, prompt.length, all.length);
    }

    public static int[] prompt(int length, int seed) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = Math.floorMod(seed * 31 + i * 7 + (i * i) % 13, 200) + 1;
        }
        return p;
    }
}
