package dev.tandem.engine.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.engine.model.HuggingFaceLoader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, run by the Rust tokenizers library through DJL. {@link #encode} adds no
 * special tokens (no BOS: the caller adds {@link #bosTokenId()}); {@link #decode} skips special tokens, and a range
 * that ends inside a multi-byte character ends in U+FFFD.
 *
 * <p>BOS is the token the tokenizer itself puts before a prompt, as transformers does: the configured
 * {@code bos_token} (tokenizer_config.json, else config.json's {@code bos_token_id}) when tokenizer_config.json
 * says {@code add_bos_token: true}, none when it says {@code false}, and otherwise whatever tokenizer.json's
 * post-processor prepends (none for GPT-2). EOS ids are the union of tokenizer_config.json's {@code eos_token} and
 * the {@code eos_token_id}s of config.json and generation_config.json.
 *
 * <p>DJL extracts its native library on first use into {@code DJL_CACHE_DIR}; unless that environment variable or
 * system property is set, this class sets the property to Tandem's cache, {@code ~/.cache/tandem/djl}, and pins the
 * CPU build of the library (system property {@code RUST_FLAVOR=cpu}) so that DJL never downloads a CUDA build.
 *
 * <p>Thread-safe. The native tokenizer is freed when this object becomes unreachable.
 */
public final class HfTokenizer implements Tokenizer {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final int bos;
    private final Set<Integer> eos;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize, int bos, Set<Integer> eos) {
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.eos = eos;
    }

    /**
     * Loads a tokenizer from a Hugging Face model directory holding {@code tokenizer.json}, or from a
     * {@code tokenizer.json} file (the configs are then read from its directory).
     */
    public static HfTokenizer load(Path directoryOrFile) throws IOException {
        Path file = Files.isDirectory(directoryOrFile) ? directoryOrFile.resolve("tokenizer.json") : directoryOrFile;
        if (!Files.isRegularFile(file)) {
            throw new IOException("no tokenizer.json at " + directoryOrFile);
        }
        Path dir = file.toAbsolutePath().getParent();
        Vocabulary vocab = Vocabulary.read(file);
        JsonNode tokenizerConfig = readJson(dir.resolve("tokenizer_config.json"));
        JsonNode config = readJson(dir.resolve("config.json"));

        NativeLibrary.configure();
        HuggingFaceTokenizer hf;
        try (InputStream in = Files.newInputStream(file)) {
            hf = HuggingFaceTokenizer.newInstance(
                    in,
                    Map.of(
                            "addSpecialTokens", "false",
                            "truncation", "false",
                            "padding", "false"));
        } catch (RuntimeException e) {
            throw new IOException("cannot load " + file + ": " + e.getMessage(), e);
        }

        int configuredBos = vocab.id(tokenizerConfig.path("bos_token"));
        if (configuredBos < 0 && config.path("bos_token_id").canConvertToInt()) {
            configuredBos = config.path("bos_token_id").asInt();
        }
        JsonNode addBos = tokenizerConfig.path("add_bos_token");
        int bos;
        if (addBos.isBoolean()) {
            bos = addBos.asBoolean() ? (configuredBos >= 0 ? configuredBos : prependedId(hf)) : -1;
        } else {
            bos = prependedId(hf);
        }

        Set<Integer> eos = new LinkedHashSet<>();
        int eosToken = vocab.id(tokenizerConfig.path("eos_token"));
        if (eosToken >= 0) {
            eos.add(eosToken);
        }
        eos.addAll(HuggingFaceLoader.eosTokenIds(dir));
        return new HfTokenizer(hf, vocab.size(), bos, Collections.unmodifiableSet(eos));
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        long[] valid = new long[Math.max(0, to - from)];
        int n = 0;
        for (int i = from; i < to; i++) {
            // The native decoder is given only ids it knows.
            if (ids[i] >= 0 && ids[i] < vocabSize) {
                valid[n++] = ids[i];
            }
        }
        if (n == 0) {
            return "";
        }
        return tokenizer.decode(n == valid.length ? valid : Arrays.copyOf(valid, n), true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int bosTokenId() {
        return bos;
    }

    @Override
    public Set<Integer> eosTokenIds() {
        return eos;
    }

    /** The id the tokenizer's post-processor puts before a text, or -1. */
    private static int prependedId(HuggingFaceTokenizer hf) {
        long[] plain = hf.encode("a", false, false).getIds();
        long[] special = hf.encode("a", true, false).getIds();
        if (special.length > plain.length && (plain.length == 0 || special[0] != plain[0])) {
            return Math.toIntExact(special[0]);
        }
        return -1;
    }

    /** The file's JSON, or a missing node when there is no such file. */
    static JsonNode readJson(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return JSON.missingNode();
        }
        return JSON.readTree(file.toFile());
    }

    /** The text of a special token as tokenizer_config.json writes it: a string or an {@code {content}} object. */
    static String tokenText(JsonNode token) {
        if (token.isTextual()) {
            return token.asText();
        }
        if (token.isObject() && token.path("content").isTextual()) {
            return token.path("content").asText();
        }
        return null;
    }

    /** Token text to id, from tokenizer.json's model vocabulary and added tokens. */
    private record Vocabulary(Map<String, Integer> ids, int size) {

        static Vocabulary read(Path file) throws IOException {
            JsonNode root = JSON.readTree(file.toFile());
            Map<String, Integer> ids = new HashMap<>();
            int max = -1;
            JsonNode vocab = root.path("model").path("vocab");
            if (vocab.isObject()) {
                for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                    int id = e.getValue().asInt();
                    ids.putIfAbsent(e.getKey(), id);
                    max = Math.max(max, id);
                }
            } else if (vocab.isArray()) {
                // Unigram: [[piece, score], ...], ids by position.
                for (int i = 0; i < vocab.size(); i++) {
                    ids.putIfAbsent(vocab.get(i).path(0).asText(), i);
                }
                max = vocab.size() - 1;
            }
            for (JsonNode added : root.path("added_tokens")) {
                int id = added.path("id").asInt();
                ids.put(added.path("content").asText(), id);
                max = Math.max(max, id);
            }
            if (max < 0) {
                throw new IOException(file + " has no vocabulary");
            }
            return new Vocabulary(ids, max + 1);
        }

        int id(JsonNode token) {
            String text = tokenText(token);
            Integer id = text == null ? null : ids.get(text);
            return id == null ? -1 : id;
        }
    }

    /** Where DJL puts its native library, set once before DJL first reads it. */
    static final class NativeLibrary {

        static final String CACHE_DIR = "DJL_CACHE_DIR";
        static final String FLAVOR = "RUST_FLAVOR";

        private NativeLibrary() {}

        static synchronized void configure() {
            // DJL reads each setting from the environment first, then from system properties.
            if (isUnset(CACHE_DIR)) {
                System.setProperty(CACHE_DIR, tandemCacheDir().toString());
            }
            if (isUnset(FLAVOR)) {
                System.setProperty(FLAVOR, "cpu");
            }
        }

        /** {@code ~/.cache/tandem/djl}, or a folder under the temporary directory when that cannot be made. */
        static Path tandemCacheDir() {
            Path dir = Path.of(System.getProperty("user.home"), ".cache", "tandem", "djl");
            try {
                return Files.createDirectories(dir);
            } catch (IOException | SecurityException e) {
                return Path.of(System.getProperty("java.io.tmpdir"), "tandem-djl-" + System.getProperty("user.name"));
            }
        }

        private static boolean isUnset(String name) {
            String env = System.getenv(name);
            String prop = System.getProperty(name);
            return (env == null || env.isEmpty()) && (prop == null || prop.isEmpty());
        }
    }
}
