package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vector exponential against {@code (float) Math.exp}, the scalar code it replaced, bit for bit. */
class ExponentialsTest {

    @Test
    void everyExponentialEqualsTheScalarOneOverTheWholeF32Range() {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[1 << 16];
        long mismatches = 0;
        long checked = 0;
        for (int round = 0; round < 320; round++) {
            for (int i = 0; i < x.length; i++) {
                // Softmax arguments (at most 0), gate arguments, and the clamps' neighbourhoods.
                x[i] = switch (i % 4) {
                    case 0 -> (float) (-r.nextDouble() * 30);
                    case 1 -> (float) (r.nextDouble() * 40 - 20);
                    case 2 -> (float) (r.nextDouble() * 200 - 110);
                    default -> (float) (-r.nextDouble() * 0.01);
                };
            }
            float shift = round % 2 == 0 ? 0f : (float) r.nextDouble();
            float[] got = x.clone();
            Exponentials.expShifted(got, 0, got.length, shift);
            for (int i = 0; i < x.length; i++) {
                float want = (float) Math.exp(x[i] - shift);
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want)) {
                    mismatches++;
                }
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(20_000_000L);
        assertThat(mismatches).as("of %d exponentials", checked).isZero();
    }

    @Test
    void limitsAndNaNComeOutAsTheScalarExponentialGivesThem() {
        float[] x = {
            0f,
            -0f,
            Float.NEGATIVE_INFINITY,
            Float.POSITIVE_INFINITY,
            Float.NaN,
            -103f,
            -104f,
            -120f,
            88f,
            88.8f,
            89.5f,
            1e-30f,
            -1e-30f,
            Float.MIN_VALUE,
            -87.3f,
            0.5f,
            1f
        };
        float[] got = x.clone();
        Exponentials.expShifted(got, 0, got.length, 0f);
        for (int i = 0; i < x.length; i++) {
            assertThat(Float.floatToIntBits(got[i])).as("exp(%s)", x[i]).isEqualTo(Float.floatToIntBits((float)
                    Math.exp(x[i])));
        }
    }

    @Test
    void theVectorAndScalarPathsOfTheGateAgreeWithTheFormula() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n : new int[] {1, 3, 8, 17, 100, 2048}) {
            float[] g = new float[n + 5];
            float[] u = new float[n + 5];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (r.nextDouble() * 24 - 12);
                u[i] = (float) (r.nextDouble() * 2 - 1);
            }
            g[2] = -200f;
            float[] got = g.clone();
            Exponentials.swiGlu(got, u, 2, 2 + n);
            for (int i = 0; i < g.length; i++) {
                float want = i >= 2 && i < 2 + n ? g[i] / (1f + (float) Math.exp(-g[i])) * u[i] : g[i];
                assertThat(got[i]).as("element %d of %d", i, n).isEqualTo(want);
            }
        }
    }
}
