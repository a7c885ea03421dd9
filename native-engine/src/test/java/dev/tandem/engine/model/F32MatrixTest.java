package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.engine.cpu.VectorOps;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Batched products (row pairs × token quads and their remainders) against a scalar reference. */
class F32MatrixTest {

    @Property(tries = 150)
    void matMulMatchesScalarForAnyShapeAndRowRange(
            @ForAll @IntRange(min = 1, max = 37) int rows,
            @ForAll @IntRange(min = 1, max = 90) int cols,
            @ForAll @IntRange(min = 1, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, cols, tokens, seed);
    }

    /** Whole vectors per row take the four-rows-by-four-tokens kernel. */
    @Property(tries = 100)
    void matMulMatchesScalarWhenRowsAreWholeVectors(
            @ForAll @IntRange(min = 1, max = 37) int rows,
            @ForAll @IntRange(min = 1, max = 5) int vectors,
            @ForAll @IntRange(min = 1, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, vectors * VectorOps.lanes(), tokens, seed);
    }

    private static void check(int rows, int cols, int tokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextDouble() - 0.5);
        }
        float[][] xs = new float[tokens][cols];
        for (float[] x : xs) {
            for (int i = 0; i < cols; i++) {
                x[i] = (float) (r.nextDouble() - 0.5);
            }
        }
        int from = r.nextInt(rows);
        int to = from + 1 + r.nextInt(rows - from);
        float[][] out = new float[tokens][rows];
        new F32Matrix(w, rows, cols).matMul(xs, out, tokens, from, to);
        for (int t = 0; t < tokens; t++) {
            for (int row = 0; row < rows; row++) {
                double expected = 0;
                if (row >= from && row < to) {
                    for (int c = 0; c < cols; c++) {
                        expected += (double) w[row * cols + c] * xs[t][c];
                    }
                }
                assertThat((double) out[t][row]).isCloseTo(expected, within(1e-4));
            }
        }
    }
}
