package dev.tandem.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.testing.SharedFixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The llama2.c tokenizer reproduces run.c's {@code encode} and {@code decode} on the Llama-2 vocabulary. */
class Llama2cTokenizerTest {

    private static Llama2cTokenizer tokenizer;
    private static List<Golden> golden;

    record Golden(String text, int[] ids) {}

    @BeforeAll
    static void load() throws IOException {
        tokenizer = Llama2cTokenizer.load(SharedFixtures.require("models/llama2-tokenizer.bin"));
        JsonNode root = new ObjectMapper()
                .readTree(SharedFixtures.require("reference/llama2-tokenizer-golden.json")
                        .toFile());
        golden = new ArrayList<>();
        for (JsonNode c : root) {
            int[] ids = new int[c.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("ids").get(i).asInt();
            }
            golden.add(new Golden(c.get("text").asText(), ids));
        }
    }

    @Test
    void encodeReproducesRunCForEveryGoldenText() {
        assertThat(golden).hasSize(10);
        for (Golden g : golden) {
            assertThat(withBos(tokenizer.encode(g.text()))).as(g.text()).containsExactly(g.ids());
        }
    }

    @Test
    void decodeAfterBosGivesBackTheText() {
        for (Golden g : golden) {
            assertThat(tokenizer.decode(g.ids())).as(g.text()).isEqualTo(g.text());
        }
    }

    @Test
    void encodeOfEmptyTextIsEmptyAndHasNoDummyPrefix() {
        assertThat(tokenizer.encode("")).isEmpty();
        assertThat(tokenizer.encode("a")).isNotEmpty();
    }

    @Test
    void reportsLlama2cSpecialIdsAndVocabularySize() {
        assertThat(tokenizer.vocabSize()).isEqualTo(32000);
        assertThat(tokenizer.bosTokenId()).isEqualTo(1);
        assertThat(tokenizer.eosTokenIds()).containsExactly(2);
        assertThat(tokenizer.decode(new int[] {1, 2})).isEmpty();
    }

    @Test
    void tokenWithoutBosBeforeItKeepsItsLeadingSpace() {
        int[] ids = tokenizer.encode("Hello world"); // [" Hello", " world"]
        assertThat(ids).containsExactly(15043, 3186);
        assertThat(tokenizer.decode(ids)).isEqualTo(" Hello world");
        assertThat(tokenizer.decode(new int[] {1, 15043, 3186}, 2, 3)).isEqualTo(" world");
        // The BOS just before the window still drops the space, so windows agree with the whole sequence.
        assertThat(tokenizer.decode(new int[] {1, 15043, 3186}, 1, 3)).isEqualTo("Hello world");
    }

    @Test
    void rawByteTokensDecodeToTheirBytesAndASplitCharacterEndsInReplacementChar() {
        int[] ids = tokenizer.encode("🚀"); // byte fallback: " " then F0 9F 9A 80 as <0xXX> tokens
        assertThat(ids).containsExactly(29871, 0xF0 + 3, 0x9F + 3, 0x9A + 3, 0x80 + 3);
        assertThat(tokenizer.decode(ids)).isEqualTo(" 🚀");
        for (int end = 2; end < ids.length; end++) {
            assertThat(tokenizer.decode(ids, 0, end))
                    .as("first %d ids", end)
                    .startsWith(" ")
                    .endsWith("\uFFFD");
        }
    }

    @Test
    void priorityQueueMergingPicksTheSamePairsAsRunCsRescanLoop() throws IOException {
        Reference ref = Reference.read(SharedFixtures.require("models/llama2-tokenizer.bin"));
        String alphabet = "abcdeilnorst ,.'-\n\tÜéñ日本語🚀0123456789THE";
        int[] cps = alphabet.codePoints().toArray();
        Random random = new Random(42);
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder sb = new StringBuilder();
            int len = random.nextInt(40);
            for (int i = 0; i < len; i++) {
                sb.appendCodePoint(cps[random.nextInt(cps.length)]);
            }
            String text = sb.toString();
            assertThat(tokenizer.encode(text)).as("%s", text).containsExactly(ref.encode(text));
        }
        for (Golden g : golden) {
            assertThat(withBos(ref.encode(g.text())))
                    .as("reference on %s", g.text())
                    .containsExactly(g.ids());
        }
    }

    @Test
    void encodesALongTextQuickly() {
        String text = "Once upon a time, there was a little girl named Lily. ".repeat(2000);
        long start = System.nanoTime();
        int[] ids = tokenizer.encode(text);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(ids.length).isGreaterThan(20_000);
        assertThat(tokenizer.decode(withBos(ids))).isEqualTo(text);
        assertThat(millis).as("milliseconds for 110k characters").isLessThan(10_000);
    }

    private static int[] withBos(int[] ids) {
        return IntStream.concat(IntStream.of(Llama2cTokenizer.BOS), Arrays.stream(ids))
                .toArray();
    }

    /** run.c's encode transcribed literally (rescan every pair per merge), from an independent read of the file. */
    record Reference(List<byte[]> vocab, float[] scores, Map<String, Integer> lookup) {

        static Reference read(Path file) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            b.getInt();
            List<byte[]> vocab = new ArrayList<>();
            List<Float> scores = new ArrayList<>();
            while (b.hasRemaining()) {
                scores.add(b.getFloat());
                byte[] t = new byte[b.getInt()];
                b.get(t);
                vocab.add(t);
            }
            float[] s = new float[scores.size()];
            Map<String, Integer> lookup = new HashMap<>();
            for (int i = 0; i < s.length; i++) {
                s[i] = scores.get(i);
                lookup.put(new String(vocab.get(i), StandardCharsets.ISO_8859_1), i);
            }
            return new Reference(vocab, s, lookup);
        }

        int[] encode(String text) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            List<Integer> tokens = new ArrayList<>();
            if (utf8.length > 0) {
                tokens.add(lookup.get(" "));
            }
            byte[] buf = new byte[8];
            int len = 0;
            for (int c = 0; c < utf8.length; c++) {
                if ((utf8[c] & 0xC0) != 0x80) {
                    len = 0;
                }
                buf[len++] = utf8[c];
                if (c + 1 < utf8.length && (utf8[c + 1] & 0xC0) == 0x80 && len < 4) {
                    continue;
                }
                Integer id = lookup.get(new String(buf, 0, len, StandardCharsets.ISO_8859_1));
                if (id != null) {
                    tokens.add(id);
                } else {
                    for (int i = 0; i < len; i++) {
                        tokens.add((buf[i] & 0xFF) + 3);
                    }
                }
                len = 0;
            }
            while (true) {
                float bestScore = -1e10f;
                int bestId = -1;
                int bestIdx = -1;
                for (int i = 0; i < tokens.size() - 1; i++) {
                    String pair = new String(vocab.get(tokens.get(i)), StandardCharsets.ISO_8859_1)
                            + new String(vocab.get(tokens.get(i + 1)), StandardCharsets.ISO_8859_1);
                    Integer id = lookup.get(pair);
                    if (id != null && scores[id] > bestScore) {
                        bestScore = scores[id];
                        bestId = id;
                        bestIdx = i;
                    }
                }
                if (bestIdx == -1) {
                    break;
                }
                tokens.set(bestIdx, bestId);
                tokens.remove(bestIdx + 1);
            }
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
