package dev.tandem.orchestrator.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.proto.ModelCard;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ModelResolverTest {

    private final ModelResolver resolver = new ModelResolver();

    @Test
    void theDemoModelUsesTheByteLevelTokenizerAndDemoTemplate() {
        ModelFrontend f = resolver.resolve(ModelCard.newBuilder()
                .setModel("tandem-demo")
                .setVocabSize(ByteLevelTokenizer.VOCAB_SIZE)
                .build());
        assertThat(f.tokenizer()).isSameAs(ByteLevelTokenizer.INSTANCE);
        assertThat(f.encodePrompt("hi")).containsExactly(ByteLevelTokenizer.BOS, 'h', 'i');
    }

    @Test
    void aHuggingFaceDirectoryGetsItsOwnTokenizerThroughTheProvider() {
        Path dir = SharedFixtures.require("models/tiny-random-gpt2");
        ModelFrontend f = resolver.resolve(ModelCard.newBuilder()
                .setModel("gpt2")
                .setVocabSize(1000)
                .setSource(dir.toString())
                .build());
        assertThat(f.hasTokenizer()).isTrue();
        int[] ids = f.tokenizer().encode("hello world");
        assertThat(ids).isNotEmpty();
        assertThat(f.tokenizer().decode(ids)).isEqualTo("hello world");
    }

    @Test
    void aModelWithoutTokenizerServesTokenIdsOnly() {
        Path bin = SharedFixtures.require("models/stories260K.bin");
        ModelFrontend f = resolver.resolve(ModelCard.newBuilder()
                .setModel("stories260K")
                .setVocabSize(512)
                .setSource(bin.toString())
                .build());
        assertThat(f.hasTokenizer()).isFalse();
    }
}
