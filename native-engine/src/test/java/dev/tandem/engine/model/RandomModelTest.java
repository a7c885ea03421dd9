package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Random models are generated in parallel from offsets of one sequence; the weights must stay those of one
 * {@code SplittableRandom(seed)} drawn in order (benchmarks and comparisons across engines rely on the same weights).
 */
class RandomModelTest {

    @Test
    void drawsAtAnIndexEqualTheJdksSplittableRandomSequence() {
        for (long seed : new long[] {0, 7, -3, 1L << 40}) {
            SplittableRandom r = new SplittableRandom(seed);
            RandomModel.Draws d = new RandomModel.Draws(seed);
            for (int k = 0; k < 10_000; k++) {
                assertThat(d.at(k)).as("seed %d draw %d", seed, k).isEqualTo(r.nextDouble());
            }
        }
    }

    @Test
    void everyMatrixHoldsTheDrawsOfOneSequenceInLoadingOrder() {
        String ref = "random:dim=16,hidden=24,layers=2,heads=4,kv_heads=2,vocab=40,seq=32,seed=9";
        LlamaWeights w = RandomModel.load(ref).weights();
        SplittableRandom r = new SplittableRandom(9);
        Matrix[] order = {
            w.embedding(),
            w.wq()[0],
            w.wq()[1],
            w.wk()[0],
            w.wk()[1],
            w.wv()[0],
            w.wv()[1],
            w.wo()[0],
            w.wo()[1],
            w.w1()[0],
            w.w1()[1],
            w.w2()[0],
            w.w2()[1],
            w.w3()[0],
            w.w3()[1],
            w.classifier()
        };
        for (int m = 0; m < order.length; m++) {
            Matrix x = order[m];
            double scale = m == 0 ? 1.0 : 1 / Math.sqrt(x.cols());
            float[] row = new float[x.cols()];
            for (int i = 0; i < x.rows(); i++) {
                x.row(i, row);
                for (int j = 0; j < x.cols(); j++) {
                    assertThat(row[j]).as("matrix %d (%d, %d)", m, i, j).isEqualTo((float)
                            ((r.nextDouble() * 2 - 1) * scale));
                }
            }
        }
    }
}
