package dev.tandem.engine.cuda;

import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvLayout;
import java.lang.foreign.MemorySegment;

/**
 * The cuda backend's KV cache: {@code blocks + 1} blocks of f32 in device memory, each laid out exactly as the
 * connector SPI's {@link KvLayout} (per layer, keys then values, head-major), so a block or one layer of it moves to
 * or from the host in one copy. The extra last block is scratch for the padding tokens of a captured decode step;
 * the scheduler never sees it.
 */
final class CudaKvStore implements KvBlockStore {

    private final Gpu gpu;
    private final KvLayout layout;
    private final int blocks;
    final long base;

    CudaKvStore(Gpu gpu, int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        this.gpu = gpu;
        this.layout = new KvLayout(blockSize, layers, kvHeads, headDim, "f32");
        this.blocks = blocks;
        this.base = gpu.alloc((blocks + 1L) * layout.bytesPerBlock());
        gpu.zero(base, (blocks + 1L) * layout.bytesPerBlock());
    }

    /** Device bytes for {@code blocks} blocks (and the scratch block) of this shape. */
    static long bytesFor(int layers, int blocks, int blockSize, int kvDim) {
        return (blocks + 1L) * 2 * layers * blockSize * kvDim * Float.BYTES;
    }

    /** The id of the scratch block that padding tokens write into. */
    int scratchBlock() {
        return blocks;
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public int numBlocks() {
        return blocks;
    }

    private long blockAddress(int block) {
        if (block < 0 || block >= blocks) {
            throw new IllegalArgumentException("KV block " + block + " is not in [0, " + blocks + ")");
        }
        return base + block * layout.bytesPerBlock();
    }

    private long layerAddress(int block, int layer) {
        if (layer < 0 || layer >= layout.layers()) {
            throw new IllegalArgumentException("layer " + layer + " is not in [0, " + layout.layers() + ")");
        }
        return blockAddress(block) + layer * 2 * layout.bytesPerLayerHalf();
    }

    private static void checkSize(MemorySegment s, long bytes) {
        if (s.byteSize() != bytes) {
            throw new IllegalArgumentException("a KV segment of " + s.byteSize() + " bytes where " + bytes + " fit");
        }
    }

    @Override
    public void readBlock(int block, MemorySegment dst) {
        checkSize(dst, layout.bytesPerBlock());
        gpu.download(dst, blockAddress(block));
    }

    @Override
    public void writeBlock(int block, MemorySegment src) {
        checkSize(src, layout.bytesPerBlock());
        gpu.upload(blockAddress(block), src);
    }

    @Override
    public void readBlockLayer(int block, int layer, MemorySegment dst) {
        checkSize(dst, 2 * layout.bytesPerLayerHalf());
        gpu.download(dst, layerAddress(block, layer));
    }

    @Override
    public void writeBlockLayer(int block, int layer, MemorySegment src) {
        checkSize(src, 2 * layout.bytesPerLayerHalf());
        gpu.upload(layerAddress(block, layer), src);
    }
}
