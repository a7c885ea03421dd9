package dev.tandem.engine.model;

import java.util.function.UnaryOperator;

/** Converts a model's matrices to the weight type chosen with {@code --dtype}: f32, bf16 or int8. */
public final class WeightTypes {

    private WeightTypes() {}

    public static LlamaWeights convert(LlamaWeights w, String dtype) {
        UnaryOperator<Matrix> f = switch (dtype) {
            case "f32" -> m -> m;
            case "bf16" -> Bf16Matrix::from;
            case "int8" -> Q8Matrix::from;
            default -> throw new IllegalArgumentException("unknown dtype '" + dtype + "' (f32, bf16, int8)");
        };
        if (dtype.equals("f32")) {
            return w;
        }
        Matrix embedding = f.apply(w.embedding());
        Matrix classifier = w.classifier() == w.embedding() ? embedding : f.apply(w.classifier());
        return new LlamaWeights(
                embedding,
                w.attnNorm(),
                all(w.wq(), f),
                all(w.wk(), f),
                all(w.wv(), f),
                all(w.wo(), f),
                w.ffnNorm(),
                all(w.w1(), f),
                all(w.w2(), f),
                all(w.w3(), f),
                w.finalNorm(),
                classifier,
                w.attnBias(),
                w.qkNorm());
    }

    /** Converts every layer's matrix; in parallel, since a large model's conversion is seconds per layer. */
    private static Matrix[] all(Matrix[] ms, UnaryOperator<Matrix> f) {
        Matrix[] out = new Matrix[ms.length];
        java.util.stream.IntStream.range(0, ms.length).parallel().forEach(i -> out[i] = f.apply(ms[i]));
        return out;
    }
}
