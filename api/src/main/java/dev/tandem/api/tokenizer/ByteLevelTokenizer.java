package dev.tandem.api.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The demo models' tokenizer: one id per UTF-8 byte (0–255), BOS = 256, EOS = 257. Needs no vocabulary file, so
 * every engine and frontend can serve the demo model with nothing downloaded.
 */
public final class ByteLevelTokenizer implements Tokenizer {

    public static final int BOS = 256;
    public static final int EOS = 257;
    public static final int VOCAB_SIZE = 258;

    public static final ByteLevelTokenizer INSTANCE = new ByteLevelTokenizer();

    private ByteLevelTokenizer() {}

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            int id = ids[i];
            if (id >= 0 && id < 256) {
                out.write(id);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int bosTokenId() {
        return BOS;
    }

    @Override
    public Set<Integer> eosTokenIds() {
        return Set.of(EOS);
    }
}
