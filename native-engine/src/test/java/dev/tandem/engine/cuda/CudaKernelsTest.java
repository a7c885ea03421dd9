package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.engine.model.Bf16Matrix;
import dev.tandem.engine.model.F32Matrix;
import dev.tandem.engine.model.Matrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The kernels of {@code kernels.cu}, run on the emulated device (or a GPU, see {@link TestGpus}), against the CPU engine's own arithmetic: the f32
 * and bf16 tiled products equal it bit for bit (one FMA chain over k), the decode product agrees within rounding,
 * and attention, argmax, RMSNorm and the KV store behave as the host code relies on.
 */
class CudaKernelsTest {

    private final Gpu gpu = TestGpus.create();
    private final SplittableRandom random = new SplittableRandom(11);

    @AfterEach
    void close() {
        gpu.close();
    }

    private float[] randoms(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return out;
    }

    private long put(float[] values) {
        long a = gpu.alloc(4L * values.length);
        gpu.upload(a, MemorySegment.ofArray(values));
        return a;
    }

    private long put(int[] values) {
        long a = gpu.alloc(4L * values.length);
        gpu.upload(a, MemorySegment.ofArray(values));
        return a;
    }

    private float[] floats(long address, int n) {
        float[] out = new float[n];
        gpu.download(MemorySegment.ofArray(out), address);
        return out;
    }

    private int[] ints(long address, int n) {
        int[] out = new int[n];
        gpu.download(MemorySegment.ofArray(out), address);
        return out;
    }

    /** The CPU engine's products of {@code m} with {@code n} token rows, flattened [token][row]. */
    private static float[] cpuProducts(Matrix m, float[] x, int n) {
        float[][] xs = new float[n][];
        float[][] outs = new float[n][m.rows()];
        for (int t = 0; t < n; t++) {
            xs[t] = java.util.Arrays.copyOfRange(x, t * m.cols(), (t + 1) * m.cols());
        }
        m.matMul(xs, outs, n, 0, m.rows());
        float[] flat = new float[n * m.rows()];
        for (int t = 0; t < n; t++) {
            System.arraycopy(outs[t], 0, flat, t * m.rows(), m.rows());
        }
        return flat;
    }

    private float[] deviceProducts(Matrix m, float[] x, int n, String kernel) {
        return deviceProducts(m, x, n, kernel, 0, new float[n * m.rows()]);
    }

    /** The product with epilogue {@code mode} (0 store, 1 residual, 2 gate) onto {@code out}'s initial values. */
    private float[] deviceProducts(Matrix m, float[] x, int n, String kernel, int mode, float[] initial) {
        DeviceMatrix d = DeviceMatrix.upload(gpu, m);
        long in = put(x);
        long out = put(initial);
        if (kernel.startsWith("gemv")) {
            gpu.launch(
                    kernel,
                    (m.rows() + 7) / 8,
                    1,
                    256,
                    0,
                    out,
                    out,
                    out,
                    m.rows(),
                    m.rows(),
                    d.address(),
                    in,
                    m.rows(),
                    m.cols(),
                    n,
                    mode);
        } else {
            gpu.launch(
                    kernel,
                    (m.rows() + 63) / 64,
                    (n + 63) / 64,
                    256,
                    0,
                    out,
                    out,
                    out,
                    m.rows(),
                    m.rows(),
                    d.address(),
                    in,
                    m.rows(),
                    m.cols(),
                    n,
                    mode);
        }
        return floats(out, n * m.rows());
    }

    /** Q, K and V stacked in one matrix: one product, each part landing in its own [token][rows] buffer. */
    @Test
    void aStackedProductWritesEachPartToItsOwnBufferAsSeparateProductsWould() {
        int cols = 32;
        int n = 5;
        F32Matrix a = new F32Matrix(randoms(40 * cols), 40, cols);
        F32Matrix b = new F32Matrix(randoms(24 * cols), 24, cols);
        F32Matrix c = new F32Matrix(randoms(24 * cols), 24, cols);
        float[] x = randoms(n * cols);
        long in = put(x);
        for (boolean bf16 : new boolean[] {false, true}) {
            Matrix[] parts = bf16
                    ? new Matrix[] {Bf16Matrix.from(a), Bf16Matrix.from(b), Bf16Matrix.from(c)}
                    : new Matrix[] {a, b, c};
            DeviceMatrix d = DeviceMatrix.upload(gpu, parts);
            for (String kernel : bf16 ? new String[] {"gemm_bf16", "gemv_bf16"} : new String[] {"gemm_f32"}) {
                long o0 = gpu.alloc(4L * n * 40);
                long o1 = gpu.alloc(4L * n * 24);
                long o2 = gpu.alloc(4L * n * 24);
                int grid = kernel.startsWith("gemv") ? (88 + 7) / 8 : (88 + 63) / 64;
                gpu.launch(kernel, grid, 1, 256, 0, o0, o1, o2, 40, 64, d.address(), in, 88, cols, n, 0);
                float[][] got = {floats(o0, n * 40), floats(o1, n * 24), floats(o2, n * 24)};
                for (int p = 0; p < 3; p++) {
                    float[] want = cpuProducts(parts[p], x, n);
                    for (int i = 0; i < want.length; i++) {
                        assertThat(got[p][i])
                                .as("%s part %d output %d", kernel, p, i)
                                .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5f));
                    }
                }
            }
        }
    }

    /**
     * The tensor-core product (TF32, activations in two terms) agrees with the CPU's bf16 product to about f32
     * rounding across tile edges (within 1e-5 of the sum of |w·x|: an MMA's accumulation order and rounding are the
     * hardware's), and applies epilogues as the CUDA-core kernel does.
     */
    @Test
    void theTensorCoreProductAgreesWithTheCpuEngineToF32Rounding() {
        int rows = 80;
        int cols = 72;
        Matrix m = Bf16Matrix.from(new F32Matrix(randoms(rows * cols), rows, cols));
        for (int n : new int[] {9, 70}) {
            float[] x = randoms(n * cols);
            float[] want = cpuProducts(m, x, n);
            DeviceMatrix d = DeviceMatrix.upload(gpu, m);
            long in = put(x);
            long out = gpu.alloc(4L * n * rows);
            float[] before = randoms(n * rows);
            gpu.upload(out, MemorySegment.ofArray(before));
            gpu.launch(
                    "gemm_bf16_tc",
                    (rows + 63) / 64,
                    (n + 63) / 64,
                    128,
                    0,
                    out,
                    out,
                    out,
                    rows,
                    rows,
                    d.address(),
                    in,
                    rows,
                    cols,
                    n,
                    1);
            float[] got = floats(out, n * rows);
            for (int i = 0; i < want.length; i++) {
                double scale = 0;
                int t = i / rows;
                int r = i % rows;
                float[] row = new float[cols];
                m.row(r, row);
                for (int k = 0; k < cols; k++) {
                    scale += Math.abs(row[k] * x[t * cols + k]);
                }
                assertThat((double) got[i])
                        .as("%d tokens, output %d", n, i)
                        .isCloseTo(before[i] + want[i], org.assertj.core.data.Offset.offset(1e-5 * scale + 1e-6));
            }
        }
    }

    @Test
    void theResidualAndGateEpiloguesAreTheCpuEnginesAddAndSwiGluOnTheProduct() {
        int rows = 72;
        int cols = 24;
        int n = 3;
        F32Matrix m = new F32Matrix(randoms(rows * cols), rows, cols);
        float[] x = randoms(n * cols);
        float[] product = cpuProducts(m, x, n);
        float[] before = randoms(n * rows);
        float[] residual = deviceProducts(m, x, n, "gemm_f32", 1, before);
        float[] gated = deviceProducts(m, x, n, "gemm_f32", 2, before);
        for (int i = 0; i < product.length; i++) {
            float g = before[i];
            float e = (float) Math.exp(-(double) g);
            assertThat(residual[i]).isEqualTo(before[i] + product[i]);
            assertThat(gated[i]).isEqualTo(g / (1f + e) * product[i]);
        }
        Matrix b = Bf16Matrix.from(new F32Matrix(randoms(rows * 64), rows, 64));
        float[] xb = randoms(n * 64);
        float[] split = deviceProducts(b, xb, n, "gemv_bf16", 1, before);
        float[] exact = cpuProducts(b, xb, n);
        for (int i = 0; i < exact.length; i++) {
            assertThat(split[i]).isCloseTo(before[i] + exact[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void theF32TiledProductEqualsTheCpuEngineBitForBitAcrossTileEdges() {
        int rows = 70;
        int cols = 37;
        for (int n : new int[] {1, 5, 67}) {
            F32Matrix m = new F32Matrix(randoms(rows * cols), rows, cols);
            float[] x = randoms(n * cols);
            assertThat(deviceProducts(m, x, n, "gemm_f32")).as("%d tokens", n).containsExactly(cpuProducts(m, x, n));
        }
    }

    @Test
    void theBf16TiledProductEqualsTheCpuEngineBitForBit() {
        int rows = 96;
        int cols = 40;
        Matrix m = Bf16Matrix.from(new F32Matrix(randoms(rows * cols), rows, cols));
        float[] x = randoms(3 * cols);
        assertThat(deviceProducts(m, x, 3, "gemm_bf16")).containsExactly(cpuProducts(m, x, 3));
    }

    @Test
    void theBf16DecodeProductAgreesWithTheTiledOneWithinRounding() {
        int rows = 50;
        int cols = 264;
        Matrix m = Bf16Matrix.from(new F32Matrix(randoms(rows * cols), rows, cols));
        for (int n : new int[] {1, 3, 8}) {
            float[] x = randoms(n * cols);
            float[] exact = cpuProducts(m, x, n);
            float[] split = deviceProducts(m, x, n, "gemv_bf16");
            for (int i = 0; i < exact.length; i++) {
                assertThat(split[i])
                        .as("%d tokens, output %d", n, i)
                        .isCloseTo(exact[i], org.assertj.core.data.Offset.offset(1e-4f));
            }
        }
    }

    @Test
    void attentionOverABlockTableEqualsASoftmaxWeightedSumInDoublePrecision() {
        int heads = 4;
        int kvHeads = 2;
        int hd = 8;
        int bs = 4;
        int layers = 2;
        int layer = 1;
        int[] table = {3, 0, 2}; // positions 0..11 in blocks 3, 0, 2
        int blocks = 5;
        int kvDim = kvHeads * hd;
        float[] cache = randoms(blocks * layers * 2 * bs * kvDim);
        int[] positions = {9, 4};
        int n = positions.length;
        float[] q = randoms(n * heads * hd);
        int[] tables = new int[n * table.length];
        for (int t = 0; t < n; t++) {
            System.arraycopy(table, 0, tables, t * table.length, table.length);
        }
        float scale = (float) (1 / Math.sqrt(hd));
        long out = gpu.alloc(4L * n * heads * hd);
        gpu.launch(
                "attention",
                n,
                heads,
                128,
                4 * (16 + hd),
                out,
                put(q),
                put(cache),
                put(tables),
                put(positions),
                table.length,
                layer,
                layers,
                bs,
                heads,
                kvHeads,
                hd,
                scale);
        float[] got = floats(out, n * heads * hd);
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int kvh = h / (heads / kvHeads);
                int ctx = positions[t] + 1;
                double[] p = new double[ctx];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < ctx; j++) {
                    double s = 0;
                    for (int d = 0; d < hd; d++) {
                        s += q[(t * heads + h) * hd + d]
                                * cache[at(table[j / bs], layer, layers, 0, kvHeads, kvh, bs, j % bs, hd) + d];
                    }
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < ctx; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int d = 0; d < hd; d++) {
                    double o = 0;
                    for (int j = 0; j < ctx; j++) {
                        o += p[j] / sum * cache[at(table[j / bs], layer, layers, 1, kvHeads, kvh, bs, j % bs, hd) + d];
                    }
                    assertThat((double) got[(t * heads + h) * hd + d])
                            .as("token %d head %d dim %d", t, h, d)
                            .isCloseTo(o, org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    /** The KvLayout index of one head's key (half 0) or value (half 1) vector. */
    private static int at(int block, int layer, int layers, int half, int kvHeads, int head, int bs, int slot, int hd) {
        return ((((block * layers + layer) * 2 + half) * kvHeads + head) * bs + slot) * hd;
    }

    @Test
    void kvStoreWritesEachTokenIntoItsBlockAndSlotInTheConnectorLayout() {
        int layers = 3;
        int kvHeads = 2;
        int hd = 4;
        int bs = 2;
        int blocks = 4;
        var store = new CudaKvStore(gpu, layers, blocks, bs, kvHeads, hd);
        float[] k = randoms(kvHeads * hd);
        float[] v = randoms(kvHeads * hd);
        int[] table = {2, 1};
        gpu.launch(
                "kv_store",
                1,
                1,
                256,
                0,
                store.base,
                put(k),
                put(v),
                put(table),
                put(new int[] {3}),
                2,
                1,
                layers,
                bs,
                kvHeads,
                hd);
        MemorySegment block =
                MemorySegment.ofArray(new float[(int) (store.layout().bytesPerBlock() / 4)]);
        store.readBlock(1, block);
        float[] b = block.toArray(ValueLayout.JAVA_FLOAT);
        for (int h = 0; h < kvHeads; h++) {
            for (int d = 0; d < hd; d++) {
                assertThat(b[at(0, 1, layers, 0, kvHeads, h, bs, 1, hd) + d]).isEqualTo(k[h * hd + d]);
                assertThat(b[at(0, 1, layers, 1, kvHeads, h, bs, 1, hd) + d]).isEqualTo(v[h * hd + d]);
            }
        }
        MemorySegment layer =
                MemorySegment.ofArray(new float[(int) (2 * store.layout().bytesPerLayerHalf() / 4)]);
        store.readBlockLayer(1, 1, layer);
        assertThat(layer.toArray(ValueLayout.JAVA_FLOAT))
                .containsExactly(java.util.Arrays.copyOfRange(
                        b, at(0, 1, layers, 0, kvHeads, 0, bs, 0, hd), at(0, 2, layers, 0, kvHeads, 0, bs, 0, hd)));
        store.writeBlock(3, block);
        MemorySegment back = MemorySegment.ofArray(new float[b.length]);
        store.readBlock(3, back);
        assertThat(back.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(b);
        assertThatThrownBy(() -> store.readBlock(blocks, back)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void argmaxTakesTheFirstOfEqualMaximaInEveryRow() {
        int vocab = 1000;
        float[] logits = randoms(3 * vocab);
        logits[17] = 5;
        logits[900] = 5;
        logits[vocab + 999] = 7;
        java.util.Arrays.fill(logits, 2 * vocab, 3 * vocab, -1);
        long ids = gpu.alloc(12);
        gpu.launch("argmax_rows", 3, 1, 256, 0, ids, put(logits), vocab);
        assertThat(ints(ids, 3)).containsExactly(17, 999, 0);
    }

    @Test
    void rmsNormEqualsTheCpuFormulaWithinOneRounding() {
        int n = 300;
        float[] x = randoms(2 * n);
        float[] w = randoms(n);
        long out = gpu.alloc(8L * n);
        gpu.launch("rmsnorm_rows", 2, 1, 256, 0, out, put(x), put(w), n, 1e-5f);
        float[] got = floats(out, 2 * n);
        for (int r = 0; r < 2; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) {
                ss += x[r * n + i] * x[r * n + i];
            }
            double inv = 1 / Math.sqrt(ss / n + 1e-5);
            for (int i = 0; i < n; i++) {
                assertThat((double) got[r * n + i])
                        .isCloseTo(w[i] * inv * x[r * n + i], org.assertj.core.data.Offset.offset(1e-5));
            }
        }
    }
}
