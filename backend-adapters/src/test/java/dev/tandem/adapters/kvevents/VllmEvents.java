package dev.tandem.adapters.kvevents;

import java.io.IOException;
import java.math.BigInteger;
import java.util.List;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/** Test helper: vLLM KV event batches encoded as vLLM's publisher encodes them (msgpack), in either format. */
final class VllmEvents {

    private VllmEvents() {}

    /** A BlockStored event: array format {@code ["BlockStored", hashes, parent, tokens, bs, lora, "GPU"]}. */
    record Stored(BigInteger[] hashes, BigInteger parent, int[] tokens, int blockSize, Object extraKey) {}

    record Removed(BigInteger[] hashes) {}

    record Cleared() {}

    static byte[] batch(boolean map, boolean withRank, List<Object> events) throws IOException {
        MessageBufferPacker p = MessagePack.newDefaultBufferPacker();
        p.packArrayHeader(withRank ? 3 : 2);
        p.packDouble(1.7e9);
        p.packArrayHeader(events.size());
        for (Object e : events) {
            switch (e) {
                case Stored s -> stored(p, map, s);
                case Removed r -> removed(p, map, r);
                case Cleared c -> {
                    if (map) {
                        p.packMapHeader(1).packString("type").packString("AllBlocksCleared");
                    } else {
                        p.packArrayHeader(1).packString("AllBlocksCleared");
                    }
                }
                default -> throw new IllegalArgumentException(e.toString());
            }
        }
        if (withRank) {
            p.packInt(0);
        }
        return p.toByteArray();
    }

    private static void stored(MessageBufferPacker p, boolean map, Stored s) throws IOException {
        if (map) {
            p.packMapHeader(8);
            p.packString("type").packString("BlockStored");
            p.packString("block_hashes");
            hashes(p, s.hashes());
            p.packString("parent_block_hash");
            hash(p, s.parent());
            p.packString("token_ids");
            tokens(p, s.tokens());
            p.packString("block_size").packInt(s.blockSize());
            p.packString("lora_id").packNil();
            p.packString("medium").packString("GPU");
            p.packString("extra_keys");
            p.packArrayHeader(s.hashes().length);
            for (int i = 0; i < s.hashes().length; i++) {
                if (s.extraKey() == null) {
                    p.packNil();
                } else {
                    p.packArrayHeader(1).packString(s.extraKey().toString());
                }
            }
        } else {
            p.packArrayHeader(7).packString("BlockStored");
            hashes(p, s.hashes());
            hash(p, s.parent());
            tokens(p, s.tokens());
            p.packInt(s.blockSize());
            if (s.extraKey() == null) {
                p.packNil();
            } else {
                p.packInt(7); // a LoRA id
            }
            p.packString("GPU");
        }
    }

    private static void removed(MessageBufferPacker p, boolean map, Removed r) throws IOException {
        if (map) {
            p.packMapHeader(3).packString("type").packString("BlockRemoved").packString("block_hashes");
            hashes(p, r.hashes());
            p.packString("medium").packString("GPU");
        } else {
            p.packArrayHeader(3).packString("BlockRemoved");
            hashes(p, r.hashes());
            p.packString("GPU");
        }
    }

    private static void hashes(MessageBufferPacker p, BigInteger[] hs) throws IOException {
        p.packArrayHeader(hs.length);
        for (BigInteger h : hs) {
            p.packBigInteger(h);
        }
    }

    private static void hash(MessageBufferPacker p, BigInteger h) throws IOException {
        if (h == null) {
            p.packNil();
        } else {
            p.packBigInteger(h);
        }
    }

    private static void tokens(MessageBufferPacker p, int[] tokens) throws IOException {
        p.packArrayHeader(tokens.length);
        for (int t : tokens) {
            p.packInt(t);
        }
    }
}
