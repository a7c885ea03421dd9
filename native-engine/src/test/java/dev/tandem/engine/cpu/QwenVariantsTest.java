package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.engine.model.F32Matrix;
import dev.tandem.engine.model.Llama2cLoader;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;
import dev.tandem.engine.model.Matrix;
import dev.tandem.engine.model.ModelLoader;
import dev.tandem.engine.model.ModelWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen2's attention biases and Qwen3's per-head q/k RMSNorm against a direct double-precision evaluation of the
 * published formulas on a one-layer model (dim 8, 2 query heads sharing 1 KV head of size 8, so heads × head_dim = 16 ≠ dim as in
 * Qwen3; rotate-half RoPE), over a 3-token prompt: in memory, and written as a Hugging Face qwen2 / qwen3 directory
 * and loaded back.
 */
class QwenVariantsTest {

    static final int DIM = 8;
    static final int HEADS = 2;
    static final int KV_HEADS = 1;
    static final int HS = 8; // head_dim × heads = 16 ≠ dim (as in Qwen3, whose head_dim is not dim / heads)
    static final int HIDDEN = 6;
    static final int VOCAB = 5;
    static final LlamaConfig CONFIG =
            new LlamaConfig(DIM, HIDDEN, 1, HEADS, KV_HEADS, VOCAB, 16, HS, 10000, 1e-6f, true, 1, 2);

    record Model(
            float[][] emb,
            float[][] wq,
            float[][] wk,
            float[][] wv,
            float[][] wo,
            float[][] w1,
            float[][] w2,
            float[][] w3,
            float[][] cls,
            float[] attnNorm,
            float[] ffnNorm,
            float[] finalNorm,
            float[] bq,
            float[] bk,
            float[] bv,
            float[] qn,
            float[] kn) {}

    private static float[][] rnd(SplittableRandom r, int rows, int cols) {
        float[][] m = new float[rows][cols];
        for (float[] row : m) {
            for (int i = 0; i < cols; i++) {
                row[i] = (float) (r.nextDouble() * 2 - 1) * 0.8f;
            }
        }
        return m;
    }

    private static float[] rnd(SplittableRandom r, int n) {
        return rnd(r, 1, n)[0];
    }

    private static Matrix matrix(float[][] m) {
        float[] flat = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, flat, i * m[0].length, m[0].length);
        }
        return new F32Matrix(flat, m.length, m[0].length);
    }

    private static Model model(long seed, boolean bias, boolean qkNorm) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] ones = new float[DIM];
        java.util.Arrays.fill(ones, 1f);
        return new Model(
                rnd(r, VOCAB, DIM),
                rnd(r, HEADS * HS, DIM),
                rnd(r, KV_HEADS * HS, DIM),
                rnd(r, KV_HEADS * HS, DIM),
                rnd(r, DIM, HEADS * HS),
                rnd(r, HIDDEN, DIM),
                rnd(r, DIM, HIDDEN),
                rnd(r, HIDDEN, DIM),
                rnd(r, VOCAB, DIM),
                rnd(r, DIM),
                rnd(r, DIM),
                ones,
                bias ? rnd(r, HEADS * HS) : null,
                bias ? rnd(r, KV_HEADS * HS) : null,
                bias ? rnd(r, KV_HEADS * HS) : null,
                qkNorm ? rnd(r, HS) : null,
                qkNorm ? rnd(r, HS) : null);
    }

    private static LlamaWeights weights(Model m) {
        return new LlamaWeights(
                matrix(m.emb()),
                new float[][] {m.attnNorm()},
                new Matrix[] {matrix(m.wq())},
                new Matrix[] {matrix(m.wk())},
                new Matrix[] {matrix(m.wv())},
                new Matrix[] {matrix(m.wo())},
                new float[][] {m.ffnNorm()},
                new Matrix[] {matrix(m.w1())},
                new Matrix[] {matrix(m.w2())},
                new Matrix[] {matrix(m.w3())},
                m.finalNorm(),
                matrix(m.cls()),
                m.bq() == null
                        ? null
                        : new LlamaWeights.AttentionBias[] {new LlamaWeights.AttentionBias(m.bq(), m.bk(), m.bv())},
                m.qn() == null ? null : new LlamaWeights.QkNorm[] {new LlamaWeights.QkNorm(m.qn(), m.kn())});
    }

    // ---- the reference: the formulas, in doubles ----

    private static double[] mul(float[][] w, double[] x) {
        double[] out = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < x.length; j++) {
                out[i] += w[i][j] * x[j];
            }
        }
        return out;
    }

    private static double[] rms(double[] x, float[] w, int from, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += x[from + i] * x[from + i];
        }
        double inv = 1 / Math.sqrt(ss / n + 1e-6);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = w[i] * x[from + i] * inv;
        }
        return out;
    }

    /** q or k heads after bias, per-head norm and rotate-half RoPE at {@code pos}. */
    private static double[] project(float[][] w, float[] b, float[] norm, double[] x, int heads, int pos) {
        double[] v = mul(w, x);
        for (int i = 0; b != null && i < v.length; i++) {
            v[i] += b[i];
        }
        for (int h = 0; h < heads; h++) {
            if (norm != null) {
                System.arraycopy(rms(v, norm, h * HS, HS), 0, v, h * HS, HS);
            }
            for (int i = 0; i < HS / 2; i++) {
                double angle = pos / Math.pow(10000, 2.0 * i / HS);
                double a = v[h * HS + i];
                double c = v[h * HS + i + HS / 2];
                v[h * HS + i] = a * Math.cos(angle) - c * Math.sin(angle);
                v[h * HS + i + HS / 2] = a * Math.sin(angle) + c * Math.cos(angle);
            }
        }
        return v;
    }

    private static double[] referenceLogits(Model m, int[] tokens) {
        int n = tokens.length;
        double[][] x = new double[n][];
        double[][] k = new double[n][];
        double[][] v = new double[n][];
        double[][] q = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = new double[DIM];
            for (int i = 0; i < DIM; i++) {
                x[t][i] = m.emb()[tokens[t]][i];
            }
            double[] xb = rms(x[t], m.attnNorm(), 0, DIM);
            q[t] = project(m.wq(), m.bq(), m.qn(), xb, HEADS, t);
            k[t] = project(m.wk(), m.bk(), m.kn(), xb, KV_HEADS, t);
            v[t] = mul(m.wv(), xb);
            for (int i = 0; m.bv() != null && i < v[t].length; i++) {
                v[t][i] += m.bv()[i];
            }
        }
        int last = n - 1;
        double[] att = new double[HEADS * HS];
        for (int h = 0; h < HEADS; h++) {
            double[] s = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int p = 0; p <= last; p++) {
                for (int i = 0; i < HS; i++) {
                    s[p] += q[last][h * HS + i] * k[p][i];
                }
                s[p] /= Math.sqrt(HS);
                max = Math.max(max, s[p]);
            }
            double sum = 0;
            for (int p = 0; p <= last; p++) {
                s[p] = Math.exp(s[p] - max);
                sum += s[p];
            }
            for (int p = 0; p <= last; p++) {
                for (int i = 0; i < HS; i++) {
                    att[h * HS + i] += s[p] / sum * v[p][i];
                }
            }
        }
        double[] h = x[last].clone();
        double[] o = mul(m.wo(), att);
        for (int i = 0; i < DIM; i++) {
            h[i] += o[i];
        }
        double[] hb = rms(h, m.ffnNorm(), 0, DIM);
        double[] g = mul(m.w1(), hb);
        double[] u = mul(m.w3(), hb);
        for (int i = 0; i < HIDDEN; i++) {
            g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        double[] d = mul(m.w2(), g);
        for (int i = 0; i < DIM; i++) {
            h[i] += d[i];
        }
        return mul(m.cls(), rms(h, m.finalNorm(), 0, DIM));
    }

    private static void assertMatches(Model m) {
        assertMatches(m, CONFIG, weights(m));
    }

    private static void assertMatches(Model m, LlamaConfig config, LlamaWeights w) {
        int[] tokens = {1, 4, 2};
        CpuComputeBackend b = new CpuComputeBackend(config, w, 4, 16, 1);
        float[] got = b.logitsAfter(tokens);
        b.close();
        double[] want = referenceLogits(m, tokens);
        for (int i = 0; i < VOCAB; i++) {
            assertThat((double) got[i])
                    .as("logit " + i)
                    .isCloseTo(want[i], org.assertj.core.api.Assertions.within(1e-4));
        }
    }

    @Test
    void qwen2AttentionBiasesFollowTheFormulas() {
        assertMatches(model(11, true, false));
    }

    @Test
    void qwen3PerHeadQkNormsFollowTheFormulas() {
        assertMatches(model(12, false, true));
    }

    private static float[] flat(float[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, out, i * m[0].length, m[0].length);
        }
        return out;
    }

    /** The model as a Hugging Face directory of {@code type} (its tensors are in HF's rotate-half layout already). */
    private static Path writeHf(Model m, String type, Path dir) throws Exception {
        Map<String, float[]> t = new LinkedHashMap<>();
        Map<String, int[]> s = new LinkedHashMap<>();
        BiConsumer<String, float[][]> mat = (name, w) -> {
            t.put(name, flat(w));
            s.put(name, new int[] {w.length, w[0].length});
        };
        BiConsumer<String, float[]> vec = (name, v) -> {
            t.put(name, v);
            s.put(name, new int[] {v.length});
        };
        String p = "model.layers.0.";
        mat.accept("model.embed_tokens.weight", m.emb());
        vec.accept(p + "input_layernorm.weight", m.attnNorm());
        mat.accept(p + "self_attn.q_proj.weight", m.wq());
        mat.accept(p + "self_attn.k_proj.weight", m.wk());
        mat.accept(p + "self_attn.v_proj.weight", m.wv());
        mat.accept(p + "self_attn.o_proj.weight", m.wo());
        if (m.bq() != null) {
            vec.accept(p + "self_attn.q_proj.bias", m.bq());
            vec.accept(p + "self_attn.k_proj.bias", m.bk());
            vec.accept(p + "self_attn.v_proj.bias", m.bv());
        }
        if (m.qn() != null) {
            vec.accept(p + "self_attn.q_norm.weight", m.qn());
            vec.accept(p + "self_attn.k_norm.weight", m.kn());
        }
        vec.accept(p + "post_attention_layernorm.weight", m.ffnNorm());
        mat.accept(p + "mlp.gate_proj.weight", m.w1());
        mat.accept(p + "mlp.down_proj.weight", m.w2());
        mat.accept(p + "mlp.up_proj.weight", m.w3());
        vec.accept("model.norm.weight", m.finalNorm());
        mat.accept("lm_head.weight", m.cls());
        Path hf = dir.resolve(type);
        Files.createDirectories(hf);
        ModelWriter.writeSafetensors(t, s, hf.resolve("model.safetensors"), "F32");
        Files.writeString(
                hf.resolve("config.json"),
                String.format(
                        "{\"model_type\": \"%s\", \"hidden_size\": %d, \"intermediate_size\": %d,"
                                + " \"num_hidden_layers\": 1, \"num_attention_heads\": %d, \"num_key_value_heads\": %d,"
                                + " \"head_dim\": %d, \"vocab_size\": %d, \"max_position_embeddings\": 16,"
                                + " \"rms_norm_eps\": 1e-6, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false,"
                                + " \"bos_token_id\": 1, \"eos_token_id\": 2}",
                        type, DIM, HIDDEN, HEADS, KV_HEADS, HS, VOCAB));
        return hf;
    }

    @Test
    void qwen2AndQwen3DirectoriesLoadTheirBiasesAndNormsAndHeadDim(@TempDir Path dir) throws Exception {
        for (String type : List.of("qwen2", "qwen3")) {
            Model m = model(type.equals("qwen2") ? 21 : 22, type.equals("qwen2"), type.equals("qwen3"));
            Llama2cLoader.Loaded loaded = ModelLoader.load(writeHf(m, type, dir).toString());
            assertThat(loaded.config().headDim()).isEqualTo(HS);
            assertThat(loaded.config().qDim())
                    .isEqualTo(16)
                    .isNotEqualTo(loaded.config().dim());
            assertThat(loaded.weights().attnBias() != null).isEqualTo(type.equals("qwen2"));
            assertThat(loaded.weights().qkNorm() != null).isEqualTo(type.equals("qwen3"));
            assertMatches(m, loaded.config(), loaded.weights());
        }
    }

    @Test
    void aMistralDirectoryLoadsAsLlamaWithItsContextCappedAtTheSlidingWindow(@TempDir Path dir) throws Exception {
        Model m = model(23, false, false);
        Path hf = writeHf(m, "mistral", dir);
        String config = Files.readString(hf.resolve("config.json"));
        Files.writeString(hf.resolve("config.json"), config.replace("}", ", \"sliding_window\": 8}"));
        Llama2cLoader.Loaded loaded = ModelLoader.load(hf.toString());
        assertThat(loaded.config().contextLength()).isEqualTo(8);
        assertMatches(m, loaded.config(), loaded.weights());
        // Qwen2 configs carry a window they do not use
        Path qwen = writeHf(model(24, true, false), "qwen2", dir.resolve("q"));
        String q = Files.readString(qwen.resolve("config.json"));
        Files.writeString(
                qwen.resolve("config.json"), q.replace("}", ", \"sliding_window\": 8, \"use_sliding_window\": false}"));
        assertThat(ModelLoader.load(qwen.toString()).config().contextLength()).isEqualTo(16);
    }

    @Test
    void theReferenceItselfTellsTheVariantsApart() {
        Model plain = model(13, false, false);
        Model biased = model(13, true, false);
        double[] a = referenceLogits(plain, new int[] {1, 4, 2});
        double[] b = referenceLogits(biased, new int[] {1, 4, 2});
        assertThat(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1])).isGreaterThan(1e-3);
        assertMatches(plain);
    }
}
