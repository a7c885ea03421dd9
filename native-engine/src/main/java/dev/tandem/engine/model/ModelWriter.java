package dev.tandem.engine.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a model (typically a seeded random one) as a llama2.c checkpoint or as a Hugging Face directory
 * (config.json + model.safetensors, F32), so that the same weights can be served from either format. The
 * Hugging Face layout rotates query/key pairs (i, i + head/2) where llama2.c rotates (2i, 2i+1): the writer permutes
 * the rows of wq and wk per head accordingly, exactly as Hugging Face's own conversion script does.
 */
public final class ModelWriter {

    private ModelWriter() {}

    /** A llama2.c legacy checkpoint (the model must use llama2.c's interleaved RoPE). */
    public static void writeLlama2c(Llama2cLoader.Loaded model, Path file) throws IOException {
        LlamaConfig c = model.config();
        LlamaWeights w = model.weights();
        requireInterleaved(c);
        if (c.headDim() * c.heads() != c.dim()) {
            throw new IllegalArgumentException("a llama2.c checkpoint needs dim divisible by heads (head size = dim /"
                    + " heads); this model has dim " + c.dim() + ", " + c.heads() + " heads of " + c.headDim());
        }
        boolean shared = w.classifier() == w.embedding();
        try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.dim())
                    .putInt(c.hiddenDim())
                    .putInt(c.layers())
                    .putInt(c.heads())
                    .putInt(c.kvHeads());
            header.putInt(shared ? c.vocabSize() : -c.vocabSize()).putInt(c.contextLength());
            raw.write(header.array());
            LittleEndianFloats out = new LittleEndianFloats(raw);
            out.matrix(w.embedding());
            out.vectors(w.attnNorm());
            out.matrices(w.wq());
            out.matrices(w.wk());
            out.matrices(w.wv());
            out.matrices(w.wo());
            out.vectors(w.ffnNorm());
            out.matrices(w.w1());
            out.matrices(w.w2());
            out.matrices(w.w3());
            out.floats(w.finalNorm());
            int half = c.headDim() / 2;
            float[] cos = new float[c.contextLength() * half];
            float[] sin = new float[c.contextLength() * half];
            for (int pos = 0; pos < c.contextLength(); pos++) {
                for (int i = 0; i < half; i++) {
                    double angle = pos / Math.pow(c.ropeTheta(), 2.0 * i / c.headDim());
                    cos[pos * half + i] = (float) Math.cos(angle);
                    sin[pos * half + i] = (float) Math.sin(angle);
                }
            }
            out.floats(cos);
            out.floats(sin);
            if (!shared) {
                out.matrix(w.classifier());
            }
        }
    }

    /** A Hugging Face Llama directory: config.json and model.safetensors (F32, rotate-half q/k layout). */
    public static void writeHuggingFace(Llama2cLoader.Loaded model, Path dir) throws IOException {
        writeHuggingFace(model, dir, "F32", 1);
    }

    /**
     * A Hugging Face Llama directory with tensors stored as {@code dtype} ({@code F32}, {@code F16} or {@code BF16},
     * rounded to nearest even) in {@code shards} files ({@code model-00001-of-0000N.safetensors} and a
     * {@code model.safetensors.index.json}, as sharded checkpoints on the Hub are laid out; one file is
     * {@code model.safetensors}).
     */
    public static void writeHuggingFace(Llama2cLoader.Loaded model, Path dir, String dtype, int shards)
            throws IOException {
        if (!List.of("F32", "F16", "BF16").contains(dtype)) {
            throw new IllegalArgumentException("unsupported safetensors dtype " + dtype + " (F32, F16, BF16)");
        }
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be >= 1");
        }
        Files.createDirectories(dir);
        // Weights of an earlier write (another shard count) would be loaded along with these: remove them first.
        try (var old = Files.list(dir)) {
            for (Path f : old.filter(ModelWriter::isWeightFile).toList()) {
                Files.delete(f);
            }
        }
        LlamaConfig c = model.config();
        LlamaWeights w = model.weights();
        requireInterleaved(c);
        Files.createDirectories(dir);
        boolean tied = w.classifier() == w.embedding();
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode cfg = mapper.createObjectNode();
        cfg.putArray("architectures").add("LlamaForCausalLM");
        cfg.put("model_type", "llama");
        cfg.put("hidden_size", c.dim());
        cfg.put("intermediate_size", c.hiddenDim());
        cfg.put("num_hidden_layers", c.layers());
        cfg.put("num_attention_heads", c.heads());
        cfg.put("num_key_value_heads", c.kvHeads());
        cfg.put("head_dim", c.headDim());
        cfg.put("vocab_size", c.vocabSize());
        cfg.put("max_position_embeddings", c.contextLength());
        cfg.put("rms_norm_eps", c.normEps());
        cfg.put("rope_theta", c.ropeTheta());
        cfg.put("hidden_act", "silu");
        cfg.put("tie_word_embeddings", tied);
        cfg.put("bos_token_id", c.bosTokenId());
        cfg.put("eos_token_id", c.eosTokenId());
        cfg.put(
                "torch_dtype",
                Map.of("F32", "float32", "F16", "float16", "BF16", "bfloat16").get(dtype));
        mapper.writerWithDefaultPrettyPrinter()
                .writeValue(dir.resolve("config.json").toFile(), cfg);

        Map<String, float[]> tensors = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        put(tensors, shapes, "model.embed_tokens.weight", w.embedding());
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            put(tensors, shapes, p + "input_layernorm.weight", w.attnNorm()[l]);
            tensors.put(p + "self_attn.q_proj.weight", rotateHalfRows(w.wq()[l], c.heads(), c.headDim()));
            shapes.put(p + "self_attn.q_proj.weight", new int[] {w.wq()[l].rows(), w.wq()[l].cols()});
            tensors.put(p + "self_attn.k_proj.weight", rotateHalfRows(w.wk()[l], c.kvHeads(), c.headDim()));
            shapes.put(p + "self_attn.k_proj.weight", new int[] {w.wk()[l].rows(), w.wk()[l].cols()});
            put(tensors, shapes, p + "self_attn.v_proj.weight", w.wv()[l]);
            put(tensors, shapes, p + "self_attn.o_proj.weight", w.wo()[l]);
            put(tensors, shapes, p + "post_attention_layernorm.weight", w.ffnNorm()[l]);
            put(tensors, shapes, p + "mlp.gate_proj.weight", w.w1()[l]);
            put(tensors, shapes, p + "mlp.down_proj.weight", w.w2()[l]);
            put(tensors, shapes, p + "mlp.up_proj.weight", w.w3()[l]);
        }
        put(tensors, shapes, "model.norm.weight", w.finalNorm());
        if (!tied) {
            put(tensors, shapes, "lm_head.weight", w.classifier());
        }
        if (shards == 1) {
            writeSafetensors(tensors, shapes, dir.resolve("model.safetensors"), dtype);
            return;
        }
        // Consecutive tensors in shards of about equal size; the index maps each tensor to its file.
        List<String> names = new ArrayList<>(tensors.keySet());
        long total = 0;
        for (float[] v : tensors.values()) {
            total += v.length;
        }
        ObjectNode index = mapper.createObjectNode();
        index.putObject("metadata").put("total_size", total * bytesPer(dtype));
        ObjectNode weightMap = index.putObject("weight_map");
        int files = Math.min(shards, names.size());
        int next = 0;
        long done = 0;
        for (int s = 0; s < files; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, files);
            Map<String, float[]> part = new LinkedHashMap<>();
            Map<String, int[]> partShapes = new LinkedHashMap<>();
            long target = total * (s + 1) / files;
            boolean last = s == files - 1;
            // at least one tensor per file, and enough left for each later file to have one
            while (next < names.size()
                    && (part.isEmpty() || last || (done < target && names.size() - next > files - s - 1))) {
                String name = names.get(next++);
                part.put(name, tensors.get(name));
                partShapes.put(name, shapes.get(name));
                weightMap.put(name, file);
                done += tensors.get(name).length;
            }
            writeSafetensors(part, partShapes, dir.resolve(file), dtype);
        }
        mapper.writerWithDefaultPrettyPrinter()
                .writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    }

    private static boolean isWeightFile(Path f) {
        String name = f.getFileName().toString();
        return name.endsWith(".safetensors") || name.equals("model.safetensors.index.json");
    }

    private static int bytesPer(String dtype) {
        return dtype.equals("F32") ? 4 : 2;
    }

    private static void requireInterleaved(LlamaConfig c) {
        if (c.rotateHalf()) {
            throw new IllegalArgumentException("the writer takes models in llama2.c's interleaved RoPE layout");
        }
    }

    /** Rows of each head reordered from interleaved pairs (2i, 2i+1) to halves (i, i + half). */
    private static float[] rotateHalfRows(Matrix m, int heads, int headDim) {
        int cols = m.cols();
        int half = headDim / 2;
        float[] out = new float[m.rows() * cols];
        float[] row = new float[cols];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                m.row(h * headDim + 2 * i, row);
                System.arraycopy(row, 0, out, (h * headDim + i) * cols, cols);
                m.row(h * headDim + 2 * i + 1, row);
                System.arraycopy(row, 0, out, (h * headDim + half + i) * cols, cols);
            }
        }
        return out;
    }

    private static void put(Map<String, float[]> t, Map<String, int[]> s, String name, Matrix m) {
        float[] all = new float[m.rows() * m.cols()];
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.row(r, row);
            System.arraycopy(row, 0, all, r * m.cols(), m.cols());
        }
        t.put(name, all);
        s.put(name, new int[] {m.rows(), m.cols()});
    }

    private static void put(Map<String, float[]> t, Map<String, int[]> s, String name, float[] v) {
        t.put(name, v);
        s.put(name, new int[] {v.length});
    }

    /**
     * One safetensors file of the given tensors (row-major float data and their shapes, in order), stored as
     * {@code dtype} ({@code F32}, {@code F16} or {@code BF16}).
     */
    public static void writeSafetensors(
            Map<String, float[]> tensors, Map<String, int[]> shapes, Path file, String dtype) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode header = mapper.createObjectNode();
        long offset = 0;
        int width = bytesPer(dtype);
        for (var e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            var shape = t.putArray("shape");
            for (int d : shapes.get(e.getKey())) {
                shape.add(d);
            }
            long bytes = (long) width * e.getValue().length;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = mapper.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            raw.write(len.array());
            raw.write(json);
            for (int i = json.length; i < padded; i++) {
                raw.write(' ');
            }
            if (dtype.equals("F32")) {
                LittleEndianFloats out = new LittleEndianFloats(raw);
                for (float[] v : tensors.values()) {
                    out.floats(v);
                }
                return;
            }
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] v : tensors.values()) {
                for (float f : v) {
                    if (buf.remaining() < 2) {
                        raw.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    buf.putShort(dtype.equals("F16") ? Float.floatToFloat16(f) : Bf16Matrix.toBf16(f));
                }
            }
            raw.write(buf.array(), 0, buf.position());
        }
    }

    /** Little-endian f32 output through a reusable buffer. */
    private static final class LittleEndianFloats {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        LittleEndianFloats(OutputStream out) {
            this.out = out;
        }

        void floats(float[] v) throws IOException {
            for (float f : v) {
                if (buf.remaining() < 4) {
                    flush();
                }
                buf.putFloat(f);
            }
            flush();
        }

        void vectors(float[][] vs) throws IOException {
            for (float[] v : vs) {
                floats(v);
            }
        }

        void matrix(Matrix m) throws IOException {
            float[] row = new float[m.cols()];
            for (int r = 0; r < m.rows(); r++) {
                m.row(r, row);
                floats(row);
            }
        }

        void matrices(Matrix[] ms) throws IOException {
            for (Matrix m : ms) {
                matrix(m);
            }
        }

        private void flush() throws IOException {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }
    }
}
