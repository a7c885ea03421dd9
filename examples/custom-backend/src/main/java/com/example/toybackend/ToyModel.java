package com.example.toybackend;

import java.util.Random;

/**
 * The example's "model": the next token is a pure function of the sequence so far (so a sequence continued
 * elsewhere goes on identically, which is what Tandem's migration relies on), with seeded sampling when asked.
 * Its vocabulary is Tandem's byte-level demo vocabulary (bytes 0-255, BOS 256, EOS 257), so Tandem's frontend can
 * tokenize text and chat prompts for it; it writes printable ASCII.
 */
final class ToyModel {

    static final int VOCAB = 258;
    static final int EOS = 257;
    static final int CONTEXT = 4096;

    private ToyModel() {}

    /** A rolling hash of the sequence; the state the "model" keeps. */
    static long feed(long h, int token) {
        return (h ^ token) * 0x100000001b3L;
    }

    static int next(long h, double temperature, Random rnd) {
        int greedy = 32 + (int) Math.floorMod(h >>> 17, 95); // printable ASCII, never a special id
        if (temperature <= 0) {
            // every 97th sequence state ends with EOS, so stopping at EOS is exercised too
            return Math.floorMod(h, 97) == 0 ? EOS : greedy;
        }
        return 32 + Math.floorMod(greedy - 32 + rnd.nextInt(5), 95);
    }
}
