package dev.tandem.orchestrator.preprocess;

import dev.tandem.api.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * Turns a stream of token ids into a stream of text pieces without ever splitting a UTF-8 character or a merged
 * token: each step decodes a short window before and after the new ids and emits only the new suffix, holding it
 * back while it ends in U+FFFD (an incomplete character). Works with any {@link Tokenizer}. Not thread-safe.
 */
public final class IncrementalDetokenizer {

    /** Ids decoded before the read offset, enough context for tokenizers whose decoding depends on neighbours. */
    private static final int CONTEXT = 6;

    private final Tokenizer tokenizer;
    private int[] ids = new int[64];
    private int size;
    private int prefixOffset;
    private int readOffset;

    public IncrementalDetokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds ids and returns the text they complete (possibly empty). */
    public String add(int... newIds) {
        if (size + newIds.length > ids.length) {
            ids = Arrays.copyOf(ids, Math.max(ids.length * 2, size + newIds.length));
        }
        System.arraycopy(newIds, 0, ids, size, newIds.length);
        size += newIds.length;
        String prefix = tokenizer.decode(ids, prefixOffset, readOffset);
        String full = tokenizer.decode(ids, prefixOffset, size);
        if (full.length() > prefix.length() && !full.endsWith("\uFFFD") && full.startsWith(prefix)) {
            String piece = full.substring(prefix.length());
            prefixOffset = Math.max(prefixOffset, size - CONTEXT);
            readOffset = size;
            return piece;
        }
        return "";
    }

    /** Text held back at the end of the stream (an incomplete character is emitted as U+FFFD). */
    public String flush() {
        String prefix = tokenizer.decode(ids, prefixOffset, readOffset);
        String full = tokenizer.decode(ids, prefixOffset, size);
        readOffset = size;
        return full.length() > prefix.length() && full.startsWith(prefix) ? full.substring(prefix.length()) : "";
    }
}
