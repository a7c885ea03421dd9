package dev.tandem.engine.model;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * llama2.c legacy checkpoints: seven little-endian int32 header fields (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means an untied classifier at the end), then f32 weights
 * grouped by kind across layers: embeddings, attention norms, wq, wk, wv, wo, FFN norms, w1, w2, w3, final norm,
 * the legacy RoPE tables (skipped), and the classifier when untied.
 */
public final class Llama2cLoader {

    /** llama2.c's conventions: BOS 1, EOS 2. */
    public static final int BOS = 1;

    public static final int EOS = 2;

    private Llama2cLoader() {}

    /** A loaded model and the token ids that end a generation (several for some Hugging Face models). */
    public record Loaded(LlamaConfig config, LlamaWeights weights, Set<Integer> eosTokenIds) {

        public Loaded {
            eosTokenIds = Set.copyOf(eosTokenIds);
        }

        /** A model whose only end-of-sequence id is the config's (none when it is -1). */
        public Loaded(LlamaConfig config, LlamaWeights weights) {
            this(config, weights, config.eosTokenId() >= 0 ? Set.of(config.eosTokenId()) : Set.of());
        }
    }

    public static Loaded load(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 28) {
                throw new IOException(file + " is too small to be a llama2.c checkpoint");
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            map.order(ByteOrder.LITTLE_ENDIAN);
            int dim = map.getInt();
            int hidden = map.getInt();
            int layers = map.getInt();
            int heads = map.getInt();
            int kvHeads = map.getInt();
            int vocab = map.getInt();
            int seq = map.getInt();
            boolean shared = vocab > 0;
            vocab = Math.abs(vocab);
            LlamaConfig c;
            try {
                c = new LlamaConfig(
                        dim,
                        hidden,
                        layers,
                        heads,
                        kvHeads,
                        vocab,
                        seq,
                        dim / Math.max(1, heads),
                        10000.0,
                        1e-5f,
                        false,
                        BOS,
                        EOS);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": not a llama2.c checkpoint (" + e.getMessage() + ")");
            }
            long expected = 28L + 4L * floatsFor(c, shared);
            if (size != expected) {
                throw new IOException(
                        file + ": " + size + " bytes, but a llama2.c checkpoint of this shape has " + expected);
            }
            FloatBuffer f = map.slice(28, (int) (size - 28))
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer();
            int kvDim = c.kvDim();
            int hs = c.headDim();
            Matrix embedding = matrix(f, vocab, dim);
            float[][] attnNorm = vectors(f, layers, dim);
            Matrix[] wq = matrices(f, layers, dim, dim);
            Matrix[] wk = matrices(f, layers, kvDim, dim);
            Matrix[] wv = matrices(f, layers, kvDim, dim);
            Matrix[] wo = matrices(f, layers, dim, dim);
            float[][] ffnNorm = vectors(f, layers, dim);
            Matrix[] w1 = matrices(f, layers, hidden, dim);
            Matrix[] w2 = matrices(f, layers, dim, hidden);
            Matrix[] w3 = matrices(f, layers, hidden, dim);
            float[] finalNorm = floats(f, dim);
            f.position(f.position() + seq * hs / 2 * 2); // legacy freq_cis_real and freq_cis_imag
            Matrix classifier = shared ? embedding : matrix(f, vocab, dim);
            return new Loaded(
                    c,
                    new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, classifier));
        }
    }

    private static long floatsFor(LlamaConfig c, boolean shared) {
        long dim = c.dim();
        long l = c.layers();
        long kv = c.kvDim();
        long h = c.hiddenDim();
        long n = c.vocabSize() * dim
                + l * dim
                + l * dim * dim
                + 2 * l * dim * kv
                + l * dim * dim
                + l * dim
                + 3 * l * dim * h
                + dim
                + (long) c.contextLength() * c.headDim();
        return shared ? n : n + c.vocabSize() * dim;
    }

    private static float[] floats(FloatBuffer f, int n) {
        float[] out = new float[n];
        f.get(out);
        return out;
    }

    private static Matrix matrix(FloatBuffer f, int rows, int cols) {
        return new F32Matrix(floats(f, rows * cols), rows, cols);
    }

    private static Matrix[] matrices(FloatBuffer f, int layers, int rows, int cols) {
        Matrix[] out = new Matrix[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = matrix(f, rows, cols);
        }
        return out;
    }

    private static float[][] vectors(FloatBuffer f, int layers, int n) {
        float[][] out = new float[layers][];
        for (int l = 0; l < layers; l++) {
            out[l] = floats(f, n);
        }
        return out;
    }
}
