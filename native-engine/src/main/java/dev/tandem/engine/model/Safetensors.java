package dev.tandem.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
 * byte range, then the data. The file is memory-mapped; tensors are read as f32 (F32, F16 and BF16 supported).
 */
public final class Safetensors {

    /** One tensor's place in the file. */
    public record Tensor(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final ByteBuffer data;
    private final Map<String, Tensor> tensors = new HashMap<>();

    private Safetensors(Path file, ByteBuffer data) {
        this.file = file;
        this.data = data;
    }

    /** The file these tensors come from. */
    public Path file() {
        return file;
    }

    public static Safetensors open(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(file + " is not a safetensors file (too small)");
            }
            ByteBuffer all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            long headerLen = all.getLong(0);
            if (headerLen <= 0 || headerLen > size - 8 || headerLen > Integer.MAX_VALUE) {
                throw new IOException(file + " is not a safetensors file (header length " + headerLen + ")");
            }
            byte[] header = new byte[(int) headerLen];
            all.get(8, header);
            JsonNode root = new ObjectMapper().readTree(new String(header, StandardCharsets.UTF_8));
            long dataStart = 8 + headerLen;
            Safetensors s = new Safetensors(
                    file, all.slice((int) dataStart, (int) (size - dataStart)).order(ByteOrder.LITTLE_ENDIAN));
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                var e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                JsonNode shape = t.get("shape");
                long[] dims = new long[shape.size()];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = shape.get(i).asLong();
                }
                JsonNode off = t.get("data_offsets");
                Tensor tensor = new Tensor(
                        e.getKey(),
                        t.get("dtype").asText(),
                        dims,
                        off.get(0).asLong(),
                        off.get(1).asLong());
                if (tensor.end() > size - dataStart || tensor.begin() > tensor.end()) {
                    throw new IOException(file + ": tensor " + e.getKey() + " lies outside the file");
                }
                s.tensors.put(e.getKey(), tensor);
            }
            return s;
        }
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor as f32 values, checking its element count. */
    public float[] floats(String name, long expectedElements) throws IOException {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IOException(file + ": missing tensor " + name);
        }
        if (t.elements() != expectedElements) {
            throw new IOException(
                    file + ": tensor " + name + " has " + t.elements() + " elements, expected " + expectedElements);
        }
        int n = (int) t.elements();
        float[] out = new float[n];
        int base = (int) t.begin();
        switch (t.dtype()) {
            case "F32" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getFloat(base + 4 * i);
                }
            }
            case "F16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(data.getShort(base + 2 * i));
                }
            }
            case "BF16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((data.getShort(base + 2 * i) & 0xFFFF) << 16);
                }
            }
            default -> throw new IOException(file + ": tensor " + name + " has unsupported dtype " + t.dtype());
        }
        return out;
    }
}
