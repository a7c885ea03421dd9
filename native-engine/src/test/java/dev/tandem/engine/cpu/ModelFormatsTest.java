package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.engine.model.Llama2cLoader;
import dev.tandem.engine.model.Matrix;
import dev.tandem.engine.model.ModelLoader;
import dev.tandem.engine.model.ModelWriter;
import dev.tandem.engine.model.RandomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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

    @Test
    void halfPrecisionShardedCheckpointsLoadEveryTensorRoundedFromTheOriginal(@TempDir Path dir) throws Exception {
        Llama2cLoader.Loaded original = RandomModel.load(SHAPE);
        int[] prompt = {1, 17, 250, 3, 99, 42, 7, 7, 7, 123};
        float[] ref = logits(original, prompt);
        for (String dtype : new String[] {"F32", "F16", "BF16"}) {
            Path hf = dir.resolve(dtype);
            ModelWriter.writeHuggingFace(original, hf, dtype, 3);
            assertThat(hf.resolve("model.safetensors.index.json")).isRegularFile();
            try (var files = Files.list(hf)) {
                assertThat(files.filter(p -> p.toString().endsWith(".safetensors")))
                        .hasSize(3);
            }
            Llama2cLoader.Loaded loaded = ModelLoader.load(hf.toString());
            // Tensors are rounded exactly as the format says: v and the down projection (no row permutation) of
            // every layer, the final norm and the embedding, element by element.
            for (int l = 0; l < original.config().layers(); l++) {
                assertRounded(original.weights().wv()[l], loaded.weights().wv()[l], dtype);
                assertRounded(original.weights().w2()[l], loaded.weights().w2()[l], dtype);
            }
            assertRounded(original.weights().embedding(), loaded.weights().embedding(), dtype);
            float[] norm = original.weights().finalNorm();
            for (int i = 0; i < norm.length; i++) {
                assertThat(loaded.weights().finalNorm()[i]).isEqualTo(rounded(norm[i], dtype));
            }
            double scale = 0;
            for (float v : ref) {
                scale = Math.max(scale, Math.abs(v));
            }
            double tolerance = Map.of("F32", 1e-5, "F16", 5e-3, "BF16", 5e-2).get(dtype);
            assertThat(maxDiff(ref, logits(loaded, prompt)) / scale)
                    .as("logits from %s", dtype)
                    .isLessThanOrEqualTo(tolerance);
        }
    }

    @Test
    void aTensorInTwoFilesOfOneDirectoryIsRefusedWithBothNames(@TempDir Path dir) throws Exception {
        Llama2cLoader.Loaded original = RandomModel.load(SHAPE);
        Path single = dir.resolve("single");
        Path sharded = dir.resolve("sharded");
        ModelWriter.writeHuggingFace(original, single);
        ModelWriter.writeHuggingFace(original, sharded, "F32", 2);
        Files.copy(
                sharded.resolve("model-00002-of-00002.safetensors"),
                single.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> ModelLoader.load(single.toString()))
                .hasMessageContaining("two files")
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model-00002-of-00002.safetensors");
        // the index of a sharded directory decides which files are read: a stray file beside them is ignored
        // (logits equal up to rounding: the HF layout rotates q/k by halves)
        Files.copy(single.resolve("model.safetensors"), sharded.resolve("stray.safetensors"));
        assertThat(maxDiff(
                        logits(original, new int[] {1, 2, 3}),
                        logits(ModelLoader.load(sharded.toString()), new int[] {1, 2, 3})))
                .isLessThan(1e-5);
    }

    private static float rounded(float v, String dtype) {
        return switch (dtype) {
            case "F16" -> Float.float16ToFloat(Float.floatToFloat16(v));
            case "BF16" -> {
                int bits = Float.floatToRawIntBits(v);
                yield Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
            }
            default -> v;
        };
    }

    private static void assertRounded(Matrix original, Matrix loaded, String dtype) {
        float[] a = new float[original.cols()];
        float[] b = new float[original.cols()];
        for (int r = 0; r < original.rows(); r++) {
            original.row(r, a);
            loaded.row(r, b);
            for (int c = 0; c < a.length; c++) {
                assertThat(b[c]).as("%s row %d col %d", dtype, r, c).isEqualTo(rounded(a[c], dtype));
            }
        }
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
