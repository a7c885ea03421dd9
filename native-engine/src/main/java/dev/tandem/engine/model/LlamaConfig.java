package dev.tandem.engine.model;

/**
 * The shape of a Llama-family decoder.
 *
 * @param dim hidden size
 * @param hiddenDim feed-forward inner size
 * @param layers decoder layers
 * @param heads query heads
 * @param kvHeads key/value heads (grouped-query attention when fewer than heads)
 * @param vocabSize token ids
 * @param contextLength most positions
 * @param headDim size of one head (dim / heads for classic Llama)
 * @param ropeTheta RoPE base
 * @param normEps RMSNorm epsilon
 * @param rotateHalf RoPE pairs (i, i + headDim/2) as Hugging Face does; false pairs (2i, 2i+1) as llama2.c does
 * @param bosTokenId BOS id, or -1
 * @param eosTokenId EOS id, or -1
 * @param ropeScaling Llama 3.1 frequency scaling, or null for none
 */
public record LlamaConfig(
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int vocabSize,
        int contextLength,
        int headDim,
        double ropeTheta,
        float normEps,
        boolean rotateHalf,
        int bosTokenId,
        int eosTokenId,
        RopeScaling ropeScaling) {

    /** A model without RoPE scaling. */
    public LlamaConfig(
            int dim,
            int hiddenDim,
            int layers,
            int heads,
            int kvHeads,
            int vocabSize,
            int contextLength,
            int headDim,
            double ropeTheta,
            float normEps,
            boolean rotateHalf,
            int bosTokenId,
            int eosTokenId) {
        this(
                dim,
                hiddenDim,
                layers,
                heads,
                kvHeads,
                vocabSize,
                contextLength,
                headDim,
                ropeTheta,
                normEps,
                rotateHalf,
                bosTokenId,
                eosTokenId,
                null);
    }

    public LlamaConfig {
        if (dim < 1
                || hiddenDim < 1
                || layers < 1
                || heads < 1
                || kvHeads < 1
                || vocabSize < 1
                || contextLength < 2
                || headDim < 2
                || headDim % 2 != 0) {
            throw new IllegalArgumentException("invalid model shape " + shape(dim, hiddenDim, layers, heads, kvHeads));
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        }
    }

    private static String shape(int dim, int hidden, int layers, int heads, int kvHeads) {
        return "dim=" + dim + ",hidden=" + hidden + ",layers=" + layers + ",heads=" + heads + ",kv_heads=" + kvHeads;
    }

    /** The inverse frequency of each rotary pair: {@code θ^(−2i/headDim)}, scaled when the model says so. */
    public float[] ropeInverseFrequencies() {
        float[] out = new float[headDim / 2];
        for (int i = 0; i < out.length; i++) {
            double f = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
            out[i] = (float) (ropeScaling == null ? f : ropeScaling.apply(f));
        }
        return out;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int qDim() {
        return heads * headDim;
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }
}
