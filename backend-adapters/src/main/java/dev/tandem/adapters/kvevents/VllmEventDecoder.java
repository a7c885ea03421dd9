package dev.tandem.adapters.kvevents;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ArrayValue;
import org.msgpack.value.MapValue;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;

/**
 * Decodes a vLLM KV event batch (msgpack): {@code [ts, events]} or {@code [ts, events, data_parallel_rank]} (vLLM
 * omits an unset rank). Events come as tagged arrays (older vLLM: {@code ["BlockStored", block_hashes,
 * parent_block_hash, token_ids, block_size, lora_id, medium, ...]}, {@code ["BlockRemoved", block_hashes, medium]},
 * {@code ["AllBlocksCleared"]}) or as maps with a {@code type} key (vLLM 0.26 and later, with {@code lora_name},
 * {@code extra_keys}, {@code group_idx}). Block hashes are unsigned 64-bit integers or bytes. Unknown event types
 * are skipped, so a newer vLLM's additions do not stop the stream.
 */
final class VllmEventDecoder {

    private VllmEventDecoder() {}

    static List<VllmEvent> decode(byte[] payload) throws IOException {
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(payload)) {
            Value batch = u.unpackValue();
            if (!batch.isArrayValue() || batch.asArrayValue().size() < 2) {
                throw new IOException("a KV event batch is [ts, events(, rank)], got " + batch);
            }
            List<VllmEvent> out = new ArrayList<>();
            for (Value e : batch.asArrayValue().get(1).asArrayValue()) {
                VllmEvent ev = e.isMapValue() ? fromMap(e.asMapValue()) : fromArray(e.asArrayValue());
                if (ev != null) {
                    out.add(ev);
                }
            }
            return out;
        }
    }

    private static VllmEvent fromArray(ArrayValue a) {
        String type = a.get(0).asStringValue().asString();
        return switch (type) {
            case "BlockStored" ->
                stored(a.get(1), at(a, 2), at(a, 3), at(a, 4), isNil(at(a, 5)) && mediumIsGpu(at(a, 6)));
            case "BlockRemoved" -> mediumIsGpu(at(a, 2)) ? new VllmEvent.Removed(hashes(a.get(1))) : null;
            case "AllBlocksCleared" -> new VllmEvent.Cleared();
            default -> null;
        };
    }

    private static VllmEvent fromMap(MapValue m) {
        Map<Value, Value> f = m.map();
        String type = get(f, "type").asStringValue().asString();
        boolean mainGroup = isNil(get(f, "group_idx"))
                || get(f, "group_idx").asIntegerValue().toInt() == 0;
        return switch (type) {
            case "BlockStored" ->
                stored(
                        get(f, "block_hashes"),
                        get(f, "parent_block_hash"),
                        get(f, "token_ids"),
                        get(f, "block_size"),
                        mainGroup
                                && isNil(get(f, "lora_id"))
                                && isNil(get(f, "lora_name"))
                                && noExtraKeys(get(f, "extra_keys"))
                                && mediumIsGpu(get(f, "medium")));
            case "BlockRemoved" ->
                mainGroup && mediumIsGpu(get(f, "medium"))
                        ? new VllmEvent.Removed(hashes(get(f, "block_hashes")))
                        : null;
            case "AllBlocksCleared" -> new VllmEvent.Cleared();
            default -> null;
        };
    }

    private static VllmEvent.Stored stored(Value hashes, Value parent, Value tokens, Value blockSize, boolean plain) {
        int[] ids = new int[isNil(tokens) ? 0 : tokens.asArrayValue().size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokens.asArrayValue().get(i).asIntegerValue().toInt();
        }
        return new VllmEvent.Stored(
                hashes(hashes),
                isNil(parent) ? null : hash(parent),
                ids,
                isNil(blockSize) ? 0 : blockSize.asIntegerValue().toInt(),
                plain);
    }

    private static boolean noExtraKeys(Value v) {
        if (isNil(v)) {
            return true;
        }
        for (Value e : v.asArrayValue()) {
            if (!isNil(e)) {
                return false;
            }
        }
        return true;
    }

    private static boolean mediumIsGpu(Value v) {
        return isNil(v) || v.asStringValue().asString().equalsIgnoreCase("GPU");
    }

    private static long[] hashes(Value v) {
        ArrayValue a = v.asArrayValue();
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = hash(a.get(i));
        }
        return out;
    }

    /** A block hash as a long: an unsigned 64-bit integer keeps its bits; bytes are folded into 64 bits. */
    static long hash(Value v) {
        if (v.isIntegerValue()) {
            return v.asIntegerValue().asBigInteger().longValue();
        }
        byte[] b = v.asRawValue().asByteArray();
        long h = 0xcbf29ce484222325L;
        for (byte x : b) {
            h = (h ^ (x & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    private static Value at(ArrayValue a, int i) {
        return i < a.size() ? a.get(i) : ValueFactory.newNil();
    }

    private static Value get(Map<Value, Value> f, String key) {
        Value v = f.get(ValueFactory.newString(key));
        return v == null ? ValueFactory.newNil() : v;
    }

    private static boolean isNil(Value v) {
        return v == null || v.isNilValue();
    }
}
