package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.testing.SharedFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --model org/name} finds what other tools downloaded into the Hugging Face cache layout. */
class HuggingFaceCacheTest {

    @TempDir
    Path home;

    @BeforeEach
    void pointTheCacheHere() {
        System.setProperty("tandem.hf.home", home.toString());
    }

    @AfterEach
    void restore() {
        System.clearProperty("tandem.hf.home");
        System.clearProperty("tandem.hf.endpoint");
    }

    private Path snapshot(String repo, String rev) throws IOException {
        Path snap = home.resolve("hub/models--" + repo.replace("/", "--") + "/snapshots/" + rev);
        Files.createDirectories(snap);
        Path src = SharedFixtures.require("models/stories260K-hf");
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(src.resolve(f), snap.resolve(f));
        }
        return snap;
    }

    @Test
    void aRepoIdResolvesToTheSnapshotThatRefsMainNames() throws Exception {
        snapshot("tandem-test/stories", "aaaa");
        Path main = snapshot("tandem-test/stories", "bbbb");
        Files.createDirectories(home.resolve("hub/models--tandem-test--stories/refs"));
        Files.writeString(home.resolve("hub/models--tandem-test--stories/refs/main"), "bbbb\n");
        assertThat(HuggingFaceCache.resolve("tandem-test/stories")).contains(main);
        Llama2cLoader.Loaded m = ModelLoader.load("tandem-test/stories");
        assertThat(m.config().vocabSize()).isEqualTo(512);
        assertThat(ModelLoader.servedName("tandem-test/stories")).isEqualTo("tandem-test/stories");
    }

    @Test
    void aRepoNotInTheCacheIsAClearError() {
        System.setProperty("tandem.hf.endpoint", "http://127.0.0.1:1"); // nothing listens: the download fails at once
        assertThat(HuggingFaceCache.isRepoId("meta-llama/Llama-3.2-1B")).isTrue();
        assertThatThrownBy(() -> ModelLoader.load("meta-llama/Llama-3.2-1B"))
                .hasMessageContaining("Hugging Face cache")
                .hasMessageContaining(home.resolve("hub").toString());
    }
}
