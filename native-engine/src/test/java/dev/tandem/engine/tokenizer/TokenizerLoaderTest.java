package dev.tandem.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.api.tokenizer.ChatMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader finds the tokenizer and chat template that go with each kind of model reference. */
class TokenizerLoaderTest {

    private static final String TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}"
            + "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

    @TempDir
    Path tmp;

    @Test
    void huggingFaceDirectoryGivesTokenizerJsonAndItsChatTemplate() throws IOException {
        Path dir = copyGpt2(tmp.resolve("gpt2"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode config =
                (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
        config.put("chat_template", TEMPLATE);
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);

        TokenizerLoader.Loaded loaded = TokenizerLoader.forModel(dir).orElseThrow();

        assertThat(loaded.tokenizer()).isInstanceOf(HfTokenizer.class);
        assertThat(loaded.tokenizer().decode(loaded.tokenizer().encode("Hello world")))
                .isEqualTo("Hello world");
        assertThat(loaded.template()).isNotNull();
        assertThat(loaded.template().render(List.of(new ChatMessage("user", "hi")), true))
                .isEqualTo("<user>hi<|endoftext|><assistant>");
    }

    @Test
    void huggingFaceDirectoryWithoutChatTemplateGivesTokenizerOnly() throws IOException {
        Path dir = copyGpt2(tmp.resolve("gpt2"));

        TokenizerLoader.Loaded loaded = TokenizerLoader.forModel(dir).orElseThrow();

        assertThat(loaded.tokenizer().vocabSize()).isEqualTo(1000);
        assertThat(loaded.template()).isNull();
    }

    @Test
    void chatTemplateJinjaFileTakesPrecedenceAndNamedTemplateListsPickDefault() throws IOException {
        Path dir = copyGpt2(tmp.resolve("gpt2"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode config =
                (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
        var list = config.putArray("chat_template");
        list.addObject().put("name", "tool_use").put("template", "TOOLS");
        list.addObject().put("name", "default").put("template", "DEFAULT");
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        List<ChatMessage> chat = List.of(new ChatMessage("user", "hi"));

        assertThat(TokenizerLoader.forModel(dir).orElseThrow().template().render(chat, false))
                .isEqualTo("DEFAULT");

        Files.writeString(dir.resolve("chat_template.jinja"), "FROM FILE");
        assertThat(TokenizerLoader.forModel(dir).orElseThrow().template().render(chat, false))
                .isEqualTo("FROM FILE");
    }

    @Test
    void huggingFaceDirectoryWithoutTokenizerJsonGivesNothing() throws IOException {
        // stories260K-hf has weights and config.json only.
        assertThat(TokenizerLoader.forModel(SharedFixtures.require("models/stories260K-hf")))
                .isEmpty();
    }

    @Test
    void llama2cCheckpointGivesTheTokenizerBinBesideIt() throws IOException {
        Path model = tmp.resolve("model.bin");
        Files.copy(SharedFixtures.require("models/stories260K.bin"), model);
        Files.copy(SharedFixtures.require("models/llama2-tokenizer.bin"), tmp.resolve("tokenizer.bin"));

        TokenizerLoader.Loaded loaded = TokenizerLoader.forModel(model).orElseThrow();

        assertThat(loaded.tokenizer()).isInstanceOf(Llama2cTokenizer.class);
        assertThat(loaded.tokenizer().encode("Hello world")).containsExactly(15043, 3186);
        assertThat(loaded.template()).isNull();
    }

    @Test
    void llama2cCheckpointWithoutTokenizerBinGivesNothing() throws IOException {
        Path model = tmp.resolve("model.bin");
        Files.copy(SharedFixtures.require("models/stories260K.bin"), model);

        assertThat(TokenizerLoader.forModel(model)).isEmpty();
    }

    @Test
    void missingPathGivesNothing() throws IOException {
        Optional<TokenizerLoader.Loaded> loaded = TokenizerLoader.forModel(tmp.resolve("no-such-model"));
        assertThat(loaded).isEmpty();
    }

    private static Path copyGpt2(Path dir) throws IOException {
        Path src = SharedFixtures.require("models/tiny-random-gpt2");
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "config.json")) {
            Files.copy(src.resolve(f), dir.resolve(f));
        }
        return dir;
    }
}
