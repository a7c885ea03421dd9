package dev.tandem.engine.tokenizer;

import dev.tandem.api.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The tokenizer of llama2.c checkpoints, read from its {@code tokenizer.bin}: a little-endian int32 maximum token
 * length, then for each token a float32 merge score, an int32 byte length and the token's bytes.
 *
 * <p>Encoding is llama2.c's {@code encode} from run.c, id for id: a dummy-prefix {@code " "} token when the text is
 * not empty, each UTF-8 codepoint looked up as a token (bytes of codepoints without one become the byte-fallback ids
 * {@code byte + 3}), then, repeatedly, the adjacent pair whose concatenation is a token with the highest score (the
 * leftmost on ties) merges into it. run.c rescans every pair per merge; here a priority queue over the live pairs
 * picks the same pair in the same order in O(n log n). BOS is 1 and EOS 2, and {@link #encode} adds neither.
 *
 * <p>Decoding is run.c's {@code decode}: {@code <0xXX>} tokens are that raw byte, and a token that follows BOS
 * drops its leading space. BOS and EOS decode to nothing. Immutable and thread-safe.
 */
public final class Llama2cTokenizer implements Tokenizer {

    public static final int BOS = 1;
    public static final int EOS = 2;

    /** The byte-fallback ids are {@code byte + BYTE_OFFSET} (after {@code <unk>}, BOS and EOS). */
    private static final int BYTE_OFFSET = 3;

    /** run.c's initial best score: pairs scoring at or below it never merge. */
    private static final float NO_SCORE = -1e10f;

    /** Token bytes, one char per byte (ISO-8859-1), so that concatenation and lookup are byte-exact. */
    private final String[] pieces;

    private final float[] scores;
    private final Map<String, Integer> ids;
    /** What each id decodes to, as bytes: {@code <0xXX>} tokens already turned into their byte. */
    private final byte[][] decoded;

    private final int dummyPrefix;

    private Llama2cTokenizer(String[] pieces, float[] scores) {
        this.pieces = pieces;
        this.scores = scores;
        this.ids = HashMap.newHashMap(pieces.length);
        this.decoded = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(pieces[i], i);
            decoded[i] = rawByte(pieces[i]);
        }
        Integer space = ids.get(" ");
        this.dummyPrefix = space == null ? -1 : space;
    }

    /** Reads a llama2.c {@code tokenizer.bin}. */
    public static Llama2cTokenizer load(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4) {
            throw new IOException(file + " is too small to be a llama2.c tokenizer");
        }
        int maxTokenLength = b.getInt();
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (b.hasRemaining()) {
            if (b.remaining() < 8) {
                throw new IOException(file + ": truncated after token " + pieces.size());
            }
            float score = b.getFloat();
            int len = b.getInt();
            if (len < 0 || len > b.remaining() || len > Math.max(maxTokenLength, 0)) {
                throw new IOException(file + ": token " + pieces.size() + " has an invalid length " + len + " (maximum "
                        + maxTokenLength + ", " + b.remaining() + " bytes left)");
            }
            byte[] bytes = new byte[len];
            b.get(bytes);
            pieces.add(new String(bytes, StandardCharsets.ISO_8859_1));
            scores.add(score);
        }
        if (pieces.size() < BYTE_OFFSET + 256) {
            throw new IOException(
                    file + ": " + pieces.size() + " tokens, fewer than llama2.c's 3 specials + 256 bytes");
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
        }
        return new Llama2cTokenizer(pieces.toArray(String[]::new), s);
    }

    @Override
    public int[] encode(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[utf8.length + 1];
        int n = 0;
        if (utf8.length > 0 && dummyPrefix >= 0) {
            tokens[n++] = dummyPrefix;
        }
        // One codepoint (at most 4 bytes, as run.c) at a time: its token, or its bytes' fallback ids.
        for (int start = 0; start < utf8.length; ) {
            int end = start + 1;
            while (end < utf8.length && (utf8[end] & 0xC0) == 0x80 && end - start < 4) {
                end++;
            }
            Integer id = ids.get(new String(utf8, start, end - start, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tokens[n++] = id;
            } else {
                for (int i = start; i < end; i++) {
                    tokens[n++] = (utf8[i] & 0xFF) + BYTE_OFFSET;
                }
            }
            start = end;
        }
        return merge(tokens, n);
    }

    /** A candidate merge of the live symbols {@code left} and its right neighbour, as they were when queued. */
    private record Pair(int left, int leftToken, int rightToken, int merged, float score) {}

    private int[] merge(int[] tokens, int n) {
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // Highest score first; on ties the leftmost pair, as run.c's strict '>' scan keeps the first best.
        PriorityQueue<Pair> queue = new PriorityQueue<>((a, b) ->
                a.score() != b.score() ? Float.compare(b.score(), a.score()) : Integer.compare(a.left(), b.left()));
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, tokens, i, i + 1);
        }
        int live = n;
        while (!queue.isEmpty()) {
            Pair p = queue.poll();
            int left = p.left();
            int right = next[left];
            // Stale: a symbol of the pair has merged away or changed since the pair was queued.
            if (tokens[left] != p.leftToken() || right < 0 || tokens[right] != p.rightToken()) {
                continue;
            }
            tokens[left] = p.merged();
            tokens[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            live--;
            if (prev[left] >= 0) {
                offer(queue, tokens, prev[left], left);
            }
            if (next[left] >= 0) {
                offer(queue, tokens, left, next[left]);
            }
        }
        int[] out = new int[live];
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (tokens[i] >= 0) {
                out[k++] = tokens[i];
            }
        }
        return out;
    }

    private void offer(PriorityQueue<Pair> queue, int[] tokens, int left, int right) {
        Integer merged = ids.get(pieces[tokens[left]] + pieces[tokens[right]]);
        if (merged != null && scores[merged] > NO_SCORE) {
            queue.add(new Pair(left, tokens[left], tokens[right], merged, scores[merged]));
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The token before {@code from} (when there is one) counts for the leading-space rule, so that decoding a
     * window of a sequence agrees with decoding the whole of it.
     */
    @Override
    public String decode(int[] ids, int from, int to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4 * (to - from));
        for (int i = from; i < to; i++) {
            int id = ids[i];
            if (id < 0 || id >= decoded.length || id == BOS || id == EOS) {
                continue;
            }
            byte[] piece = decoded[id];
            int skip = i > 0 && ids[i - 1] == BOS && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
            out.write(piece, skip, piece.length - skip);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosTokenId() {
        return BOS;
    }

    @Override
    public Set<Integer> eosTokenIds() {
        return Set.of(EOS);
    }

    /** A {@code <0xXX>} piece as its one byte, as run.c's {@code sscanf(piece, "<0x%02hhX>")}; others as is. */
    private static byte[] rawByte(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.charAt(5) == '>') {
            int hi = Character.digit(piece.charAt(3), 16);
            int lo = Character.digit(piece.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return new byte[] {(byte) (hi * 16 + lo)};
            }
        }
        return piece.getBytes(StandardCharsets.ISO_8859_1);
    }
}
