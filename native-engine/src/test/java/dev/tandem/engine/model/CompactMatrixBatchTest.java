package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Batched products against one-token products. For f32 and bf16 a token's product is bit for bit the same alone or
 * in a batch of any size at any place (batch invariance): the engine's greedy tokens then do not depend on what
 * shares a step, and a stream migrated to another worker (which recomputes its tokens so far in another batch)
 * continues exactly. The same holds for int8, and across the k-blocks of rows longer than a block.
 */
class CompactMatrixBatchTest {

    @Property(tries = 80)
    void f32ProductsOfATokenAreTheSameAloneAndInAnyBatch(
            @ForAll @IntRange(min = 1, max = 19) int rows,
            @ForAll @IntRange(min = 1, max = 6) int vectors,
            @ForAll @IntRange(min = 0, max = 5) int extraCols,
            @ForAll @IntRange(min = 2, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, vectors * 16 + extraCols, tokens, seed, m -> m);
    }

    @Property(tries = 80)
    void bf16ProductsOfATokenAreTheSameAloneAndInAnyBatch(
            @ForAll @IntRange(min = 1, max = 19) int rows,
            @ForAll @IntRange(min = 1, max = 6) int groups,
            @ForAll @IntRange(min = 0, max = 5) int extraCols,
            @ForAll @IntRange(min = 2, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, groups * 32 + extraCols, tokens, seed, Bf16Matrix::from);
    }

    @Property(tries = 60)
    void int8ProductsOfATokenAreTheSameAloneAndInAnyBatch(
            @ForAll @IntRange(min = 1, max = 19) int rows,
            @ForAll @IntRange(min = 1, max = 6) int groups,
            @ForAll @IntRange(min = 0, max = 5) int extraCols,
            @ForAll @IntRange(min = 2, max = 11) int tokens,
            @ForAll long seed) {
        check(rows, groups * 32 + extraCols, tokens, seed, Q8Matrix::from);
    }

    /** Rows longer than a k-block ({@link PanelMatrix#KC}): the tile's sums go through memory between blocks. */
    @Property(tries = 12)
    void productsOfLongRowsAreTheSameAloneAndInAnyBatch(
            @ForAll @IntRange(min = 1, max = 40) int rows,
            @ForAll @IntRange(min = 0, max = 2) int type,
            @ForAll @IntRange(min = 2, max = 9) int tokens,
            @ForAll long seed) {
        UnaryOperator<Matrix> convert = switch (type) {
            case 0 -> m -> m;
            case 1 -> Bf16Matrix::from;
            default -> Q8Matrix::from;
        };
        check(rows, PanelMatrix.KC + 96 + type, tokens, seed, convert);
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
            for (int row = from; row < to; row++) {
                assertThat(Float.floatToRawIntBits(batched[t][row]))
                        .as(
                                "token %d of %d, row %d: %s batched, %s alone",
                                t, tokens, row, batched[t][row], single[row])
                        .isEqualTo(Float.floatToRawIntBits(single[row]));
            }
        }
        {
            // the last tokens again, in a smaller batch where they sit at other places (a remainder, not a quad)
            int n = 1 + r.nextInt(tokens);
            float[][] smaller = new float[n][];
            float[][] smallerOut = new float[n][rows];
            for (int t = 0; t < n; t++) {
                smaller[t] = xs[tokens - n + t];
            }
            m.matMul(smaller, smallerOut, n, from, to);
            for (int t = 0; t < n; t++) {
                for (int row = from; row < to; row++) {
                    assertThat(smallerOut[t][row]).isEqualTo(batched[tokens - n + t][row]);
                }
            }
        }
    }
}
