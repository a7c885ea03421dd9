package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.engine.model.Llama2cLoader;
import dev.tandem.engine.model.ModelLoader;
import dev.tandem.engine.model.ModelWriter;
import dev.tandem.engine.model.RandomModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same random weights written as llama2.c and as safetensors give the same logits (relative error ≤ 1e-5). */
class ModelFormatsTest {

    private static final String SHAPE = "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=300,seq=128,seed=5";

    @Test
    void llama2cAndSafetensorsCopiesOfOneRandomModelGiveTheSameLogits(@TempDir Path dir) throws Exception {
        Llama2cLoader.Loaded original = RandomModel.load(SHAPE);
        Path bin = dir.resolve("model.bin");
        Path hf = dir.resolve("hf");
        ModelWriter.writeLlama2c(original, bin);
        ModelWriter.writeHuggingFace(original, hf);
        Llama2cLoader.Loaded fromBin = ModelLoader.load(bin.toString());
        Llama2cLoader.Loaded fromHf = ModelLoader.load(hf.toString());
        assertThat(fromHf.config().rotateHalf()).isTrue();
        assertThat(fromBin.config().rotateHalf()).isFalse();

        int[] prompt = {1, 17, 250, 3, 99, 42, 7, 7, 7, 123, 5, 0, 299, 64, 8, 11, 2, 30};
        float[] ref = logits(original, prompt);
        double scale = 0;
        for (float v : ref) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertThat(scale).isGreaterThan(0);
        assertThat(maxDiff(ref, logits(fromBin, prompt)) / scale).isLessThanOrEqualTo(1e-5);
        assertThat(maxDiff(ref, logits(fromHf, prompt)) / scale).isLessThanOrEqualTo(1e-5);
    }

    private static float[] logits(Llama2cLoader.Loaded m, int[] prompt) {
        CpuComputeBackend b = new CpuComputeBackend(m.config(), m.weights(), 8, 16, 1);
        try {
            return b.logitsAfter(prompt);
        } finally {
            b.close();
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
