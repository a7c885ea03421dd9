package dev.tandem.kvconnector.peer;

import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.proto.KvLayoutDescriptor;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/**
 * Reads one pull's {@code KvBlockData} messages straight off the transport into the KV store: the protobuf fields
 * are decoded by hand so that a layer's bytes are copied once into a reused staging buffer, checksummed there and
 * copied once into their block, instead of into two fresh arrays first (what the generated parser does; a profile
 * of the transfer benchmark showed those copies and allocations as its largest costs). One reader per pull; gRPC
 * parses a call's messages one at a time, in order.
 */
final class LayerReader implements MethodDescriptor.Marshaller<LayerReader.Layer> {

    /**
     * What one message said.
     *
     * @param layer the first layer the message held
     * @param bytes the bytes it held (a whole number of layers)
     * @param blockCrc the block's CRC-32C as sent (with {@code hasCrc}), and {@code computedCrc} what arrived
     */
    record Layer(
            int blockIndex,
            int layer,
            int bytes,
            boolean hasCrc,
            int blockCrc,
            int computedCrc,
            KvLayoutDescriptor layout) {}

    private final KvBlockStore store;
    private final int first;
    private final int[] localBlocks;
    private final byte[] staging;
    private final CRC32C crc = new CRC32C();

    LayerReader(KvBlockStore store, int first, int[] localBlocks) {
        this.store = store;
        this.first = first;
        this.localBlocks = localBlocks;
        this.staging = new byte[Math.toIntExact(2 * store.layout().bytesPerLayerHalf())];
    }

    @Override
    public InputStream stream(Layer value) {
        throw new UnsupportedOperationException("a pull only receives layers");
    }

    @Override
    public Layer parse(InputStream in) {
        try {
            // proto3 leaves zero values off the wire: an absent index or layer is 0.
            int index = 0;
            int layer = 0;
            int bytes = -1;
            boolean hasCrc = false;
            int blockCrc = 0;
            KvLayoutDescriptor layout = null;
            long tag;
            while ((tag = varint(in, true)) >= 0) {
                int field = (int) (tag >>> 3);
                int wire = (int) (tag & 7);
                switch (field) {
                    case 1 -> index = (int) varint(in, false);
                    case 2 -> layer = (int) varint(in, false);
                    case 3 -> {
                        // One or more consecutive layers of the block, starting at 'layer'.
                        bytes = (int) varint(in, false);
                        int count = bytes / staging.length;
                        if (count < 1
                                || bytes % staging.length != 0
                                || index < first
                                || index >= first + localBlocks.length
                                || layer < 0
                                || layer + count > store.layout().layers()) {
                            throw new IllegalStateException(
                                    "unexpected block " + index + " layer " + layer + " of " + bytes + " bytes");
                        }
                        for (int l = layer; l < layer + count; l++) {
                            readLayer(in, localBlocks[index - first], l, staging.length);
                        }
                    }
                    case 4 -> {
                        blockCrc = fixed32(in);
                        hasCrc = true;
                    }
                    case 5 -> {
                        int n = (int) varint(in, false);
                        layout = KvLayoutDescriptor.parseFrom(in.readNBytes(n));
                    }
                    default -> skip(in, wire);
                }
            }
            int computed = (int) crc.getValue();
            if (hasCrc) {
                crc.reset(); // the block's last layer: the next message starts a block
            }
            return new Layer(index, layer, bytes, hasCrc, blockCrc, computed, layout);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Copies a layer's {@code bytes} from the transport into its block: straight from the transport's buffers into
     * the store's memory when both allow views (one copy), else through the staging buffer (two).
     */
    private void readLayer(InputStream in, int block, int layer, int bytes) throws IOException {
        MemorySegment[] dst = store.writableLayerViews(block, layer);
        if (dst != null && in instanceof io.grpc.HasByteBuffer hb && hb.byteBufferSupported()) {
            int part = 0;
            long at = 0;
            int left = bytes;
            while (left > 0) {
                java.nio.ByteBuffer bb = hb.getByteBuffer();
                if (bb == null || !bb.hasRemaining()) {
                    throw new IllegalStateException("truncated KV message");
                }
                while (at == dst[part].byteSize()) {
                    part++;
                    at = 0;
                }
                int n = (int) Math.min(Math.min(bb.remaining(), left), dst[part].byteSize() - at);
                java.nio.ByteBuffer slice = bb.slice(bb.position(), n);
                crc.update(slice.duplicate());
                MemorySegment.copy(MemorySegment.ofBuffer(slice), 0, dst[part], at, n);
                in.skipNBytes(n);
                at += n;
                left -= n;
            }
            return;
        }
        if (in.readNBytes(staging, 0, bytes) != bytes) {
            throw new IllegalStateException("truncated KV message");
        }
        crc.update(staging, 0, bytes);
        store.writeBlockLayer(block, layer, MemorySegment.ofArray(staging));
    }

    /** A varint, or -1 at the end of the message when {@code eofOk}. */
    private static long varint(InputStream in, boolean eofOk) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.read();
            if (b < 0) {
                if (eofOk && shift == 0) {
                    return -1;
                }
                throw new IllegalStateException("truncated varint");
            }
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalStateException("malformed varint");
    }

    private static int fixed32(InputStream in) throws IOException {
        byte[] b = in.readNBytes(4);
        if (b.length != 4) {
            throw new IllegalStateException("truncated fixed32");
        }
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }

    private static void skip(InputStream in, int wire) throws IOException {
        switch (wire) {
            case 0 -> varint(in, false);
            case 1 -> in.skipNBytes(8);
            case 2 -> in.skipNBytes(varint(in, false));
            case 5 -> in.skipNBytes(4);
            default -> throw new IllegalStateException("unsupported wire type " + wire);
        }
    }
}
