package dev.tandem.api.kv.connector;

import java.util.Locale;

/**
 * How an engine lays out one KV block, checked on both sides of every transfer: blocks of engines whose layouts
 * differ are never exchanged.
 *
 * <p>A block's bytes are, for each layer in order, its keys then its values; each is {@code kvHeads × blockSize ×
 * headDim} elements, head-major (all slots of head 0, then head 1, ...), little-endian.
 *
 * @param blockSize tokens per block
 * @param layers transformer layers
 * @param kvHeads KV heads
 * @param headDim elements per head
 * @param dtype element type ({@code f32}, {@code bf16}, {@code f16})
 */
public record KvLayout(int blockSize, int layers, int kvHeads, int headDim, String dtype) {

    public KvLayout {
        if (blockSize < 1 || layers < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException(
                    "invalid KV layout " + blockSize + "/" + layers + "/" + kvHeads + "/" + headDim);
        }
        dtype = dtype.toLowerCase(Locale.ROOT);
        elementBytes(dtype);
    }

    /** Bytes of one element of {@code dtype}. */
    public static int elementBytes(String dtype) {
        return switch (dtype) {
            case "f32" -> 4;
            case "bf16", "f16" -> 2;
            default -> throw new IllegalArgumentException("unknown KV dtype '" + dtype + "' (f32, bf16, f16)");
        };
    }

    /** Bytes of one layer's keys (or values) in one block. */
    public long bytesPerLayerHalf() {
        return (long) kvHeads * blockSize * headDim * elementBytes(dtype);
    }

    public long bytesPerBlock() {
        return 2 * layers * bytesPerLayerHalf();
    }

    /** KV bytes per token, keys and values of every layer. */
    public long bytesPerToken() {
        return bytesPerBlock() / blockSize;
    }

    /** The layout as one line, for errors and logs. */
    public String describe() {
        return "block " + blockSize + ", " + layers + " layers, " + kvHeads + " KV heads, head dim " + headDim + ", "
                + dtype;
    }
}
