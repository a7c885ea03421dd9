package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Llama 3.1 RoPE scaling against values computed by hand from the published formula: head size 8, θ = 500,000,
 * factor 8, low/high frequency factors 1 and 4, original context 8,192. Pairs 0 and 1 have wavelengths (6.3 and 167
 * positions) under 8192/4 and keep their frequency; pair 3 (wavelength 118,143) is over 8192/1 and is divided by 8;
 * pair 2 (wavelength 4,443) is interpolated with smooth = (8192/4442.88 − 1)/3 = 0.281283.
 */
class RopeScalingTest {

    private static final RopeScaling LLAMA3 = new RopeScaling(8, 1, 4, 8192);

    @Test
    void frequenciesFollowThePublishedFormula() {
        LlamaConfig c = new LlamaConfig(32, 64, 1, 4, 4, 10, 16, 8, 500000, 1e-5f, true, 1, 2, LLAMA3);
        float[] f = c.ropeInverseFrequencies();
        assertThat((double) f[0]).isCloseTo(1.0, within(1e-9));
        assertThat((double) f[1]).isCloseTo(0.03760603093086393, within(1e-8));
        assertThat((double) f[2]).isCloseTo(0.0005248461609929547, within(1e-9));
        assertThat((double) f[3]).isCloseTo(6.647869871181236e-06, within(1e-11));
    }

    @Test
    void withoutScalingTheFrequenciesAreThePlainPowers() {
        LlamaConfig c = new LlamaConfig(32, 64, 1, 4, 4, 10, 16, 8, 500000, 1e-5f, true, 1, 2);
        assertThat((double) c.ropeInverseFrequencies()[2]).isCloseTo(0.001414213562373095, within(1e-9));
    }

    @Test
    void aHuggingFaceConfigWithLlama3ScalingLoadsIt(@TempDir Path dir) throws Exception {
        Llama2cLoader.Loaded m =
                RandomModel.load("random:dim=32,hidden=64,layers=1,heads=4,kv_heads=4,vocab=10,seq=16");
        ModelWriter.writeHuggingFace(m, dir);
        Path config = dir.resolve("config.json");
        String json = Files.readString(config);
        Files.writeString(
                config,
                "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
                        + " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192},"
                        + json.substring(json.indexOf('{') + 1));
        LlamaConfig c = HuggingFaceLoader.load(dir).config();
        assertThat(c.ropeScaling()).isEqualTo(LLAMA3);
    }
}
