package dev.tandem.api.tokenizer;

import java.util.Set;

/** Text to token ids and back. Implementations are immutable and thread-safe. */
public interface Tokenizer {

    /** The ids of {@code text}, without BOS (see {@link #bosTokenId()}). */
    int[] encode(String text);

    /**
     * The text of {@code ids[from, to)}. Ids that end inside a multi-byte character decode to U+FFFD at the end,
     * which is how incremental detokenizers know to wait for the next id.
     */
    String decode(int[] ids, int from, int to);

    default String decode(int[] ids) {
        return decode(ids, 0, ids.length);
    }

    int vocabSize();

    /** The BOS id to put before a prompt, or -1 when the model takes none. */
    int bosTokenId();

    /** Ids that end generation. */
    Set<Integer> eosTokenIds();
}
