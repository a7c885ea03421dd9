package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.model.Bf16Matrix;
import dev.tandem.engine.model.F32Matrix;
import dev.tandem.engine.model.Llama2cLoader;
import dev.tandem.engine.model.Matrix;
import dev.tandem.engine.model.Q8Matrix;
import dev.tandem.engine.model.WeightTypes;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * bf16 and int8 weights against f32: each product within the rounding error of its type, and the whole model's
 * logits within stated tolerances relative to the largest logit magnitude on stories260K, a tiny model (dim 64,
 * two int8 groups per row) whose logits are unusually sensitive: bf16 ≤ 8% (measured 4.9%), int8 ≤ 20% (measured
 * 14.2%). The per-product bounds are the kernels' real correctness check.
 */
class WeightTypesTest {

    @Property(tries = 100)
    void quantizedProductsStayWithinTheRoundingErrorOfTheirType(
            @ForAll @IntRange(min = 1, max = 20) int rows,
            @ForAll @IntRange(min = 1, max = 300) int cols,
            @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.1);
        }
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Matrix f32 = new F32Matrix(w, rows, cols);
        float[] exact = new float[rows];
        f32.matVec(x, exact, 0, rows);
        check(Bf16Matrix.from(f32), x, exact, w, false);
        check(Q8Matrix.from(f32), x, exact, w, true);
    }

    @Property(tries = 60)
    void groupAlignedInt8ProductsTakeTheVectorPathWithinTheSameBound(
            @ForAll @IntRange(min = 1, max = 9) int rows,
            @ForAll @IntRange(min = 1, max = 12) int groups,
            @ForAll long seed) {
        quantizedProductsStayWithinTheRoundingErrorOfTheirType(rows, groups * Q8Matrix.GROUP, seed);
    }

    /**
     * The error bound of each type: bf16 rounds each weight to 8 significant bits (≤ 2^-8 of itself); int8 rounds
     * each to half a step of its group's scale (≤ max|w in group| / 254).
     */
    private static void check(Matrix m, float[] x, float[] exact, float[] w, boolean grouped) {
        float[] got = new float[m.rows()];
        m.matVec(x, got, 0, m.rows());
        int cols = m.cols();
        for (int row = 0; row < m.rows(); row++) {
            double bound = 0;
            double magnitude = 0;
            for (int g = 0; g < cols; g += Q8Matrix.GROUP) {
                double max = 0;
                for (int c = g; c < Math.min(cols, g + Q8Matrix.GROUP); c++) {
                    max = Math.max(max, Math.abs(w[row * cols + c]));
                }
                for (int c = g; c < Math.min(cols, g + Q8Matrix.GROUP); c++) {
                    double wc = Math.abs(w[row * cols + c]);
                    bound += (grouped ? max / 254 : wc / 256) * Math.abs(x[c]);
                    magnitude += wc * Math.abs(x[c]);
                }
            }
            assertThat((double) Math.abs(got[row] - exact[row]))
                    .isLessThanOrEqualTo(bound * 1.001 + 1e-6 * (1 + magnitude));
        }
    }

    @Test
    void stories260KLogitsInBf16AndInt8StayNearF32() throws Exception {
        Llama2cLoader.Loaded m = Llama2cLoader.load(SharedFixtures.require("models/stories260K.bin"));
        JsonNode cases = new ObjectMapper()
                .readTree(SharedFixtures.require("reference/stories260K-greedy.json")
                        .toFile())
                .get("cases");
        CpuComputeBackend f32 = new CpuComputeBackend(m.config(), m.weights(), 64, 16, 1);
        CpuComputeBackend bf16 = new CpuComputeBackend(m.config(), WeightTypes.convert(m.weights(), "bf16"), 64, 16, 1);
        CpuComputeBackend int8 = new CpuComputeBackend(m.config(), WeightTypes.convert(m.weights(), "int8"), 64, 16, 1);
        double worstBf16 = 0;
        double worstInt8 = 0;
        for (JsonNode c : cases) {
            int[] prompt = new int[c.get("prompt").size()];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = c.get("prompt").get(i).asInt();
            }
            float[] ref = f32.logitsAfter(prompt);
            // f32 reproduces the reference logits llama2.c printed.
            for (int i = 0; i < 8; i++) {
                assertThat((double) ref[i])
                        .isCloseTo(
                                c.get("first_logits_0_8").get(i).asDouble(),
                                org.assertj.core.api.Assertions.within(1e-3));
            }
            double scale = 0;
            for (float v : ref) {
                scale = Math.max(scale, Math.abs(v));
            }
            worstBf16 = Math.max(worstBf16, maxDiff(ref, bf16.logitsAfter(prompt)) / scale);
            worstInt8 = Math.max(worstInt8, maxDiff(ref, int8.logitsAfter(prompt)) / scale);
        }
        System.out.printf("worst relative logit error: bf16 %.4f, int8 %.4f%n", worstBf16, worstInt8);
        assertThat(worstBf16)
                .as("bf16 worst relative logit error")
                .isLessThanOrEqualTo(0.08)
                .isGreaterThan(0);
        assertThat(worstInt8)
                .as("int8 worst relative logit error")
                .isLessThanOrEqualTo(0.20)
                .isGreaterThan(0);
    }

    @Test
    void anUnknownDtypeIsRefused() {
        assertThatThrownBy(() -> WeightTypes.convert(null, "fp4")).hasMessageContaining("f32, bf16, int8");
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
