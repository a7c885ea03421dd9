package dev.tandem.engine.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A seeded random Llama model of any shape, for tests and benchmarks:
 * {@code random:dim=768,hidden=2048,layers=12,heads=12,kv_heads=12,vocab=32000,seq=1024[,seed=S][,bos=B][,eos=E]}
 * (kv_heads defaults to heads, seed to 0, bos/eos to 1/2). Weights are
 * uniform in ±1/√fan_in (norms 1), so activations stay in range however deep the model; the same reference always
 * gives the same weights.
 */
public final class RandomModel {

    public static final String PREFIX = "random:";

    /** The keys of a reference: the shape (kv_heads defaults to heads), the seed (0) and the BOS/EOS ids (1, 2). */
    static final List<String> KEYS =
            List.of("dim", "hidden", "layers", "heads", "kv_heads", "vocab", "seq", "seed", "bos", "eos");

    private RandomModel() {}

    public static boolean isReference(String reference) {
        return reference.startsWith(PREFIX);
    }

    public static LlamaConfig config(String reference) {
        Map<String, Integer> p = parse(reference);
        int dim = need(p, "dim");
        int heads = need(p, "heads");
        if (heads < 1 || dim % heads != 0) {
            throw new IllegalArgumentException("random model: dim " + dim + " must be a multiple of heads " + heads);
        }
        int kvHeads = p.getOrDefault("kv_heads", heads);
        if (kvHeads < 1 || heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "random model: heads " + heads + " must be a multiple of kv_heads " + kvHeads);
        }
        return new LlamaConfig(
                dim,
                need(p, "hidden"),
                need(p, "layers"),
                heads,
                kvHeads,
                need(p, "vocab"),
                need(p, "seq"),
                dim / heads,
                10000.0,
                1e-5f,
                false,
                p.getOrDefault("bos", 1),
                p.getOrDefault("eos", 2));
    }

    public static Llama2cLoader.Loaded load(String reference) {
        LlamaConfig c = config(reference);
        long seed = parse(reference).getOrDefault("seed", 0);
        SplittableRandom r = new SplittableRandom(seed);
        int dim = c.dim();
        int l = c.layers();
        Matrix embedding = random(r, c.vocabSize(), dim, 1.0);
        float[][] attnNorm = ones(l, dim);
        Matrix[] wq = randoms(r, l, c.qDim(), dim);
        Matrix[] wk = randoms(r, l, c.kvDim(), dim);
        Matrix[] wv = randoms(r, l, c.kvDim(), dim);
        Matrix[] wo = randoms(r, l, dim, c.qDim());
        float[][] ffnNorm = ones(l, dim);
        Matrix[] w1 = randoms(r, l, c.hiddenDim(), dim);
        Matrix[] w2 = randoms(r, l, dim, c.hiddenDim());
        Matrix[] w3 = randoms(r, l, c.hiddenDim(), dim);
        float[] finalNorm = ones(1, dim)[0];
        Matrix classifier = random(r, c.vocabSize(), dim, 1 / Math.sqrt(dim));
        return new Llama2cLoader.Loaded(
                c, new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, classifier));
    }

    private static Map<String, Integer> parse(String reference) {
        if (!isReference(reference)) {
            throw new IllegalArgumentException("not a random model reference: " + reference);
        }
        Map<String, Integer> out = new HashMap<>();
        String body = reference.substring(PREFIX.length());
        if (body.isBlank()) {
            throw new IllegalArgumentException("random model needs dim, hidden, layers, heads, vocab, seq");
        }
        for (String kv : body.split(",")) {
            String[] p = kv.split("=", 2);
            if (p.length != 2) {
                throw new IllegalArgumentException("'" + kv + "' in " + reference + " is not key=value");
            }
            String key = p[0].trim();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(
                        "unknown key '" + key + "' in " + reference + " (" + String.join(", ", KEYS) + ")");
            }
            try {
                out.put(key, Integer.parseInt(p[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + kv + "' in " + reference + " is not an integer");
            }
        }
        return out;
    }

    private static int need(Map<String, Integer> p, String key) {
        Integer v = p.get(key);
        if (v == null) {
            throw new IllegalArgumentException("random model needs " + key + "=...");
        }
        return v;
    }

    private static Matrix random(SplittableRandom r, int rows, int cols, double scale) {
        float[] w = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return new F32Matrix(w, rows, cols);
    }

    private static Matrix[] randoms(SplittableRandom r, int layers, int rows, int cols) {
        Matrix[] out = new Matrix[layers];
        for (int i = 0; i < layers; i++) {
            out[i] = random(r, rows, cols, 1 / Math.sqrt(cols));
        }
        return out;
    }

    private static float[][] ones(int layers, int n) {
        float[][] out = new float[layers][n];
        for (float[] v : out) {
            java.util.Arrays.fill(v, 1f);
        }
        return out;
    }
}
