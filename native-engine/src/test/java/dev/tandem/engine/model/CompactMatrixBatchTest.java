package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Batched products of bf16 and int8 weights (rows widened to f32 once) against their own one-token products. */
class CompactMatrixBatchTest {

    @Property(tries = 60)
    void bf16BatchedProductsEqualTokenByTokenProducts(
            @ForAll @IntRange(min = 1, max = 19) int rows,
            @ForAll @IntRange(min = 1, max = 6) int groups,
            @ForAll @IntRange(min = 0, max = 5) int extraCols,
            @ForAll @IntRange(min = 2, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, groups * 32 + extraCols, tokens, seed, Bf16Matrix::from);
    }

    @Property(tries = 60)
    void int8BatchedProductsEqualTokenByTokenProducts(
            @ForAll @IntRange(min = 1, max = 19) int rows,
            @ForAll @IntRange(min = 1, max = 6) int groups,
            @ForAll @IntRange(min = 0, max = 5) int extraCols,
            @ForAll @IntRange(min = 2, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, groups * 32 + extraCols, tokens, seed, Q8Matrix::from);
    }

    private static void check(int rows, int cols, int tokens, long seed, UnaryOperator<Matrix> convert) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextDouble() - 0.5);
        }
        Matrix m = convert.apply(new F32Matrix(w, rows, cols));
        float[][] xs = new float[tokens][cols];
        for (float[] x : xs) {
            for (int i = 0; i < cols; i++) {
                x[i] = (float) (r.nextDouble() - 0.5);
            }
        }
        int from = r.nextInt(rows);
        int to = from + 1 + r.nextInt(rows - from);
        float[][] batched = new float[tokens][rows];
        m.matMul(xs, batched, tokens, from, to);
        for (int t = 0; t < tokens; t++) {
            float[] single = new float[rows];
            m.matVec(xs[t], single, from, to);
            for (int row = 0; row < rows; row++) {
                assertThat(batched[t][row]).as("token %d row %d", t, row).isCloseTo(single[row], within(1e-4f));
            }
        }
    }
}
