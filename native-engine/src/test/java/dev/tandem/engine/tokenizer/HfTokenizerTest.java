package dev.tandem.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.testing.SharedFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A Hugging Face tokenizer.json through DJL's native tokenizers library (GPT-2 byte-level BPE fixture). */
class HfTokenizerTest {

    private static final String EOT = "<|endoftext|>";
    private static HfTokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = HfTokenizer.load(SharedFixtures.require("models/tiny-random-gpt2"));
    }

    /**
     * Texts this tiny vocabulary can spell: it lacks 63 of the 256 byte symbols (control bytes such as tab, '{', and
     * the lead bytes of 4-byte UTF-8 such as emoji), which byte-level BPE then drops.
     */
    @Test
    void encodeThenDecodeGivesBackTheText() {
        for (String text : List.of(
                "Hello world",
                "The quick brown fox jumps over the lazy dog.",
                "Ünïcödé façade naïve café",
                "日本語のテキスト, 中文, привет, €5",
                "  leading spaces and\nnewlines  ")) {
            int[] ids = tokenizer.encode(text);
            assertThat(ids).as(text).isNotEmpty();
            assertThat(tokenizer.decode(ids)).as(text).isEqualTo(text);
        }
    }

    @Test
    void encodeAddsNoSpecialTokensAndDecodeSkipsThem() {
        int[] ids = tokenizer.encode("Hello world");
        assertThat(ids).doesNotContain(0);
        int[] withEot = IntStream.concat(IntStream.of(0), Arrays.stream(ids)).toArray();
        assertThat(tokenizer.decode(withEot)).isEqualTo("Hello world");
        // Special-token text in the input is still matched as the special token, as transformers does.
        assertThat(tokenizer.encode(EOT)).containsExactly(0);
        assertThat(tokenizer.encode("")).isEmpty();
    }

    @Test
    void decodeOfASplitMultiByteCharacterEndsInReplacementChar() {
        int[] ids = tokenizer.encode("a日");
        assertThat(ids.length).as("the tiny vocabulary spells 日 byte by byte").isEqualTo(4);
        for (int end = 2; end < ids.length; end++) {
            assertThat(tokenizer.decode(ids, 0, end))
                    .as("first %d ids", end)
                    .startsWith("a")
                    .endsWith("\uFFFD");
        }
        assertThat(tokenizer.decode(ids, 0, ids.length)).isEqualTo("a日");
        assertThat(tokenizer.decode(ids, 1, 1)).isEmpty();
    }

    @Test
    void longInputsAreNotTruncated() {
        String text = "The quick brown fox jumps over the lazy dog. ".repeat(400);
        int[] ids = tokenizer.encode(text);
        assertThat(ids.length).isGreaterThan(4000);
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void specialIdsFollowTheConfigs() {
        assertThat(tokenizer.vocabSize()).isEqualTo(1000);
        // GPT-2's tokenizer prepends nothing, whatever its bos_token, so the model takes no BOS.
        assertThat(tokenizer.bosTokenId()).isEqualTo(-1);
        // tokenizer_config.json's eos_token, plus the eos_token_id of config.json and generation_config.json.
        assertThat(tokenizer.eosTokenIds()).containsExactlyInAnyOrder(0, 98);
    }

    @Test
    void outOfRangeIdsDecodeToNothing() {
        int[] ids = tokenizer.encode("Hi");
        int[] withJunk = IntStream.concat(Arrays.stream(ids), IntStream.of(-5, 1_000_000))
                .toArray();
        assertThat(tokenizer.decode(withJunk)).isEqualTo("Hi");
    }

    @Test
    void nativeLibraryIsExtractedIntoDjlCacheDir() {
        String env = System.getenv("DJL_CACHE_DIR");
        String dir = env != null && !env.isEmpty() ? env : System.getProperty("DJL_CACHE_DIR");
        if (env == null || env.isEmpty()) {
            assertThat(Path.of(dir)).isEqualTo(HfTokenizer.NativeLibrary.tandemCacheDir());
        }
        assertThat(Path.of(dir).resolve("tokenizers")).isDirectory();
        try (var files = Files.walk(Path.of(dir).resolve("tokenizers"))) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.contains("tokenizers"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
