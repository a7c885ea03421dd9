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
        Matrix classifier) {}
