package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The Vector API kernels against plain scalar loops, on lengths that are and are not multiples of the lanes. */
class VectorOpsTest {

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    @Property(tries = 300)
    void dotMatchesScalar(
            @ForAll @IntRange(min = 0, max = 700) int n,
            @ForAll @IntRange(min = 0, max = 9) int off,
            @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = random(r, n + off);
        float[] b = random(r, n + 3);
        double expected = 0;
        for (int i = 0; i < n; i++) {
            expected += (double) a[off + i] * b[3 + i];
        }
        assertThat((double) VectorOps.dot(a, off, b, 3, n)).isCloseTo(expected, within(1e-4 * (1 + Math.sqrt(n))));
    }

    @Property(tries = 200)
    void axpyMatchesScalar(@ForAll @IntRange(min = 0, max = 300) int n, @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = random(r, n + 2);
        float[] y = random(r, n + 5);
        float[] expected = y.clone();
        float alpha = (float) r.nextDouble();
        for (int i = 0; i < n; i++) {
            expected[5 + i] += alpha * x[2 + i];
        }
        VectorOps.axpy(alpha, x, 2, y, 5, n);
        for (int i = 0; i < y.length; i++) {
            assertThat(y[i]).isCloseTo(expected[i], within(1e-5f));
        }
    }

    @Property(tries = 100)
    void softmaxSumsToOneAndKeepsOrder(@ForAll @IntRange(min = 1, max = 100) int n, @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = random(r, n);
        for (int i = 0; i < n; i++) {
            x[i] *= 50;
        }
        float[] before = x.clone();
        VectorOps.softmax(x, 0, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[i];
            for (int j = 0; j < n; j++) {
                if (before[i] > before[j]) {
                    assertThat(x[i]).isGreaterThanOrEqualTo(x[j]);
                }
            }
        }
        assertThat(sum).isCloseTo(1.0, within(1e-5));
    }
}
