package dev.tandem.engine.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

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
        Draws r = new Draws(seed);
        int dim = c.dim();
        int l = c.layers();
        // The draws of one SplittableRandom(seed) in this order, each matrix from its own offset (so they are made in
        // parallel: an 8B shape is 8·10⁹ draws).
        List<Callable<Matrix>> jobs = new java.util.ArrayList<>();
        jobs.add(r.matrix(c.vocabSize(), dim, 1.0));
        int wqAt = jobs.size();
        r.matrices(jobs, l, c.qDim(), dim);
        int wkAt = jobs.size();
        r.matrices(jobs, l, c.kvDim(), dim);
        int wvAt = jobs.size();
        r.matrices(jobs, l, c.kvDim(), dim);
        int woAt = jobs.size();
        r.matrices(jobs, l, dim, c.qDim());
        int w1At = jobs.size();
        r.matrices(jobs, l, c.hiddenDim(), dim);
        int w2At = jobs.size();
        r.matrices(jobs, l, dim, c.hiddenDim());
        int w3At = jobs.size();
        r.matrices(jobs, l, c.hiddenDim(), dim);
        jobs.add(r.matrix(c.vocabSize(), dim, 1 / Math.sqrt(dim)));
        Matrix[] m = run(jobs);
        return new Llama2cLoader.Loaded(
                c,
                new LlamaWeights(
                        m[0],
                        ones(l, dim),
                        java.util.Arrays.copyOfRange(m, wqAt, wkAt),
                        java.util.Arrays.copyOfRange(m, wkAt, wvAt),
                        java.util.Arrays.copyOfRange(m, wvAt, woAt),
                        java.util.Arrays.copyOfRange(m, woAt, w1At),
                        ones(l, dim),
                        java.util.Arrays.copyOfRange(m, w1At, w2At),
                        java.util.Arrays.copyOfRange(m, w2At, w3At),
                        java.util.Arrays.copyOfRange(m, w3At, w3At + l),
                        ones(1, dim)[0],
                        m[m.length - 1]));
    }

    private static Matrix[] run(List<Callable<Matrix>> jobs) {
        Matrix[] out = new Matrix[jobs.size()];
        java.util.stream.IntStream.range(0, jobs.size()).parallel().forEach(i -> {
            try {
                out[i] = jobs.get(i).call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return out;
    }

    /**
     * The sequence of {@code new SplittableRandom(seed).nextDouble()}, addressable by index: SplittableRandom's k-th
     * long is {@code mix64(seed + k·γ)} (its published algorithm; {@code RandomModelTest} checks it against the JDK),
     * and a double is its top 53 bits. Lets every matrix start at its own offset of the one sequence.
     */
    static final class Draws {
        private static final long GAMMA = 0x9e3779b97f4a7c15L;
        private final long seed;
        private long next;

        Draws(long seed) {
            this.seed = seed;
        }

        static long mix64(long z) {
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }

        /** Draw {@code k} (0-based) of the sequence. */
        double at(long k) {
            return (mix64(seed + (k + 1) * GAMMA) >>> 11) * 0x1.0p-53;
        }

        Callable<Matrix> matrix(int rows, int cols, double scale) {
            long first = next;
            int n = Math.multiplyExact(rows, cols);
            next += n;
            return () -> {
                float[] w = new float[n];
                for (int i = 0; i < n; i++) {
                    w[i] = (float) ((at(first + i) * 2 - 1) * scale);
                }
                return new F32Matrix(w, rows, cols);
            };
        }

        void matrices(List<Callable<Matrix>> jobs, int layers, int rows, int cols) {
            for (int i = 0; i < layers; i++) {
                jobs.add(matrix(rows, cols, 1 / Math.sqrt(cols)));
            }
        }
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

    private static float[][] ones(int layers, int n) {
        float[][] out = new float[layers][n];
        for (float[] v : out) {
            java.util.Arrays.fill(v, 1f);
        }
        return out;
    }
}
