package dev.tandem.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.tokenizer.ChatTemplate;
import dev.tandem.api.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Finds the tokenizer (and chat template) that goes with a model reference, as {@code ModelLoader} finds the
 * weights:
 *
 * <ul>
 *   <li>a Hugging Face directory: its {@code tokenizer.json}, with the chat template of {@code chat_template.jinja}
 *       or else of {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of named templates of
 *       which {@code default} is taken);
 *   <li>a llama2.c checkpoint file: the llama2.c {@code tokenizer.bin} beside it, without a chat template;
 *   <li>anything else, or a model without those files: empty.
 * </ul>
 */
public final class TokenizerLoader {

    private TokenizerLoader() {}

    /** A model's tokenizer and its chat template, which is null when the model has none. */
    public record Loaded(Tokenizer tokenizer, ChatTemplate template) {

        public Loaded {
            Objects.requireNonNull(tokenizer, "tokenizer");
        }
    }

    /**
     * @throws IOException when a tokenizer file is there but cannot be read, or its chat template does not parse
     */
    public static Optional<Loaded> forModel(Path model) throws IOException {
        if (Files.isDirectory(model)) {
            Path json = model.resolve("tokenizer.json");
            if (!Files.isRegularFile(json)) {
                return Optional.empty();
            }
            HfTokenizer tokenizer = HfTokenizer.load(model);
            return Optional.of(new Loaded(tokenizer, chatTemplate(model)));
        }
        if (Files.isRegularFile(model)) {
            Path sibling = model.toAbsolutePath().resolveSibling("tokenizer.bin");
            if (Files.isRegularFile(sibling) && !Files.isSameFile(sibling, model)) {
                return Optional.of(new Loaded(Llama2cTokenizer.load(sibling), null));
            }
        }
        return Optional.empty();
    }

    private static ChatTemplate chatTemplate(Path dir) throws IOException {
        JsonNode config = HfTokenizer.readJson(dir.resolve("tokenizer_config.json"));
        String template = null;
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            template = Files.readString(jinja, StandardCharsets.UTF_8);
        } else {
            template = templateText(config.path("chat_template"));
        }
        if (template == null || template.isBlank()) {
            return null;
        }
        String bos = HfTokenizer.tokenText(config.path("bos_token"));
        String eos = HfTokenizer.tokenText(config.path("eos_token"));
        try {
            return new JinjaChatTemplate(template, bos == null ? "" : bos, eos == null ? "" : eos);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
    }

    private static String templateText(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            String first = null;
            for (JsonNode named : node) {
                String text = named.path("template").isTextual()
                        ? named.path("template").asText()
                        : null;
                if ("default".equals(named.path("name").asText())) {
                    return text;
                }
                if (first == null) {
                    first = text;
                }
            }
            return first;
        }
        return null;
    }
}
