package dev.tandem.engine.model;

/**
 * The weights of a Llama-family decoder, per layer, as {@link Matrix} (so storage and precision stay behind one
 * abstraction) plus f32 norm vectors and optional attention biases (Qwen2).
 *
 * @param embedding vocab × dim
 * @param attnNorm per layer, dim
 * @param wq per layer, qDim × dim
 * @param wk per layer, kvDim × dim
 * @param wv per layer, kvDim × dim
 * @param wo per layer, dim × qDim
 * @param ffnNorm per layer, dim
 * @param w1 per layer, hidden × dim (gate)
 * @param w2 per layer, dim × hidden (down)
 * @param w3 per layer, hidden × dim (up)
 * @param finalNorm dim
 * @param classifier vocab × dim (the embedding itself when tied)
 * @param attnBias per layer, the q, k and v projection biases (Qwen2), or null
 * @param qkNorm per layer, the RMSNorm weights of each query and key head (Qwen3), or null
 */
public record LlamaWeights(
        Matrix embedding,
        float[][] attnNorm,
        Matrix[] wq,
        Matrix[] wk,
        Matrix[] wv,
        Matrix[] wo,
        float[][] ffnNorm,
        Matrix[] w1,
        Matrix[] w2,
        Matrix[] w3,
        float[] finalNorm,
        Matrix classifier,
        AttentionBias[] attnBias,
        QkNorm[] qkNorm) {

    /** Biases added after the q, k and v projections. */
    public record AttentionBias(float[] q, float[] k, float[] v) {}

    /** RMSNorm weights (headDim each) applied to every query and key head before RoPE. */
    public record QkNorm(float[] q, float[] k) {}

    /** A plain Llama: no attention biases, no q/k norms. */
    public LlamaWeights(
            Matrix embedding,
            float[][] attnNorm,
            Matrix[] wq,
            Matrix[] wk,
            Matrix[] wv,
            Matrix[] wo,
            float[][] ffnNorm,
            Matrix[] w1,
            Matrix[] w2,
            Matrix[] w3,
            float[] finalNorm,
            Matrix classifier) {
        this(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, classifier, null, null);
    }

    /**
     * Bytes of weight matrices one forward step reads: every layer's projections and the classifier (an embedding
     * lookup reads one row, not counted). For a batch-1 decode this is the memory traffic per token.
     */
    public long bytesReadPerStep() {
        long total = classifier.bytes();
        for (Matrix[] layer : new Matrix[][] {wq, wk, wv, wo, w1, w2, w3}) {
            for (Matrix m : layer) {
                total += m.bytes();
            }
        }
        return total;
    }
}
