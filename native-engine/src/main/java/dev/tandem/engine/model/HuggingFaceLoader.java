package dev.tandem.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Hugging Face Llama-family directories: {@code config.json} and one or many {@code *.safetensors} (F32, F16, BF16,
 * read as f32). Llama, Mistral (loads as Llama) and the rotate-half RoPE convention of HF checkpoints.
 */
public final class HuggingFaceLoader {

    private HuggingFaceLoader() {}

    public static Llama2cLoader.Loaded load(Path dir) throws IOException {
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new IOException(dir + " has no config.json");
        }
        JsonNode j = new ObjectMapper().readTree(configFile.toFile());
        String type = j.path("model_type").asText("llama");
        if (!type.equals("llama") && !type.equals("mistral") && !type.equals("qwen2") && !type.equals("qwen3")) {
            throw new IOException(
                    dir + ": model_type '" + type + "' is not supported yet (llama, mistral, qwen2, qwen3)");
        }
        RopeScaling scaling = null;
        JsonNode rs = j.path("rope_scaling");
        if (!rs.isMissingNode() && !rs.isNull()) {
            String kind = rs.path("rope_type").asText(rs.path("type").asText(""));
            if (!kind.equals("llama3")) {
                throw new IOException(dir + ": rope_scaling of type '" + kind + "' is not supported (llama3)");
            }
            try {
                scaling = new RopeScaling(
                        rs.path("factor").asDouble(),
                        rs.path("low_freq_factor").asDouble(),
                        rs.path("high_freq_factor").asDouble(),
                        rs.path("original_max_position_embeddings").asDouble());
            } catch (IllegalArgumentException e) {
                throw new IOException(dir + ": " + e.getMessage(), e);
            }
        }
        Set<Integer> eos = eosTokenIds(dir);
        int dim = j.path("hidden_size").asInt();
        int heads = j.path("num_attention_heads").asInt();
        int kvHeads = j.path("num_key_value_heads").asInt(heads);
        int headDim = j.path("head_dim").asInt(heads == 0 ? 0 : dim / heads);
        LlamaConfig c = new LlamaConfig(
                dim,
                j.path("intermediate_size").asInt(),
                j.path("num_hidden_layers").asInt(),
                heads,
                kvHeads,
                j.path("vocab_size").asInt(),
                contextLength(j, type),
                headDim,
                j.path("rope_theta").asDouble(10000.0),
                (float) j.path("rms_norm_eps").asDouble(1e-5),
                true,
                j.path("bos_token_id").isInt() ? j.path("bos_token_id").asInt() : -1,
                eos.isEmpty() ? -1 : eos.iterator().next(),
                scaling);
        boolean tied = j.path("tie_word_embeddings").asBoolean(false);

        List<Safetensors> files = new ArrayList<>();
        for (Path p : weightFiles(dir)) {
            files.add(Safetensors.open(p));
        }
        Tensors t = new Tensors(files);
        int layers = c.layers();
        Matrix[] wq = new Matrix[layers];
        Matrix[] wk = new Matrix[layers];
        Matrix[] wv = new Matrix[layers];
        Matrix[] wo = new Matrix[layers];
        Matrix[] w1 = new Matrix[layers];
        Matrix[] w2 = new Matrix[layers];
        Matrix[] w3 = new Matrix[layers];
        float[][] attnNorm = new float[layers][];
        float[][] ffnNorm = new float[layers][];
        LlamaWeights.AttentionBias[] bias = type.equals("qwen2") ? new LlamaWeights.AttentionBias[layers] : null;
        LlamaWeights.QkNorm[] qkNorm = type.equals("qwen3") ? new LlamaWeights.QkNorm[layers] : null;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            attnNorm[l] = t.floats(p + "input_layernorm.weight", dim);
            wq[l] = t.matrix(p + "self_attn.q_proj.weight", c.qDim(), dim);
            wk[l] = t.matrix(p + "self_attn.k_proj.weight", c.kvDim(), dim);
            wv[l] = t.matrix(p + "self_attn.v_proj.weight", c.kvDim(), dim);
            wo[l] = t.matrix(p + "self_attn.o_proj.weight", dim, c.qDim());
            ffnNorm[l] = t.floats(p + "post_attention_layernorm.weight", dim);
            w1[l] = t.matrix(p + "mlp.gate_proj.weight", c.hiddenDim(), dim);
            w2[l] = t.matrix(p + "mlp.down_proj.weight", dim, c.hiddenDim());
            w3[l] = t.matrix(p + "mlp.up_proj.weight", c.hiddenDim(), dim);
            if (bias != null) {
                bias[l] = new LlamaWeights.AttentionBias(
                        t.floats(p + "self_attn.q_proj.bias", c.qDim()),
                        t.floats(p + "self_attn.k_proj.bias", c.kvDim()),
                        t.floats(p + "self_attn.v_proj.bias", c.kvDim()));
            }
            if (qkNorm != null) {
                qkNorm[l] = new LlamaWeights.QkNorm(
                        t.floats(p + "self_attn.q_norm.weight", c.headDim()),
                        t.floats(p + "self_attn.k_norm.weight", c.headDim()));
            }
        }
        Matrix embedding = t.matrix("model.embed_tokens.weight", c.vocabSize(), dim);
        Matrix classifier =
                tied || !t.has("lm_head.weight") ? embedding : t.matrix("lm_head.weight", c.vocabSize(), dim);
        return new Llama2cLoader.Loaded(
                c,
                new LlamaWeights(
                        embedding,
                        attnNorm,
                        wq,
                        wk,
                        wv,
                        wo,
                        ffnNorm,
                        w1,
                        w2,
                        w3,
                        t.floats("model.norm.weight", dim),
                        classifier,
                        bias,
                        qkNorm),
                eos);
    }

    /**
     * The context served: {@code max_position_embeddings}, capped at a sliding attention window when the model uses
     * one (Mistral 7B v0.1: 4,096). Attention here is over the whole context, which equals windowed attention only
     * within the window, so longer sequences are refused instead of computed differently from the model.
     */
    static int contextLength(JsonNode j, String type) {
        int max = j.path("max_position_embeddings").asInt(2048);
        JsonNode window = j.path("sliding_window");
        boolean windowed = j.path("use_sliding_window").asBoolean(type.equals("mistral"));
        return windowed && window.canConvertToInt() && window.asInt() > 0 ? Math.min(max, window.asInt()) : max;
    }

    /**
     * The ids that end a generation: {@code eos_token_id} of config.json and of generation_config.json, each a single
     * id or a list (Llama 3.x instruct models stop at any of {@code <|end_of_text|>}, {@code <|eom_id|>} and
     * {@code <|eot_id|>}).
     */
    public static Set<Integer> eosTokenIds(Path dir) throws IOException {
        Set<Integer> ids = new LinkedHashSet<>();
        for (String file : new String[] {"config.json", "generation_config.json"}) {
            Path f = dir.resolve(file);
            if (Files.isRegularFile(f)) {
                JsonNode id = new ObjectMapper().readTree(f.toFile()).path("eos_token_id");
                if (id.canConvertToInt()) {
                    ids.add(id.asInt());
                } else if (id.isArray()) {
                    for (JsonNode one : id) {
                        if (one.canConvertToInt()) {
                            ids.add(one.asInt());
                        }
                    }
                }
            }
        }
        return ids;
    }

    /**
     * The checkpoint's weight files: those that {@code model.safetensors.index.json} maps tensors to when there is
     * one (as sharded Hub checkpoints have), else every {@code *.safetensors} file. A tensor found in two files is an
     * error rather than a silent choice (a directory overwritten with a different layout would otherwise load stale
     * weights).
     */
    static List<Path> weightFiles(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        List<Path> files;
        if (Files.isRegularFile(index)) {
            JsonNode map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
            if (!map.isObject() || map.isEmpty()) {
                throw new IOException(index + " has no weight_map");
            }
            java.util.TreeSet<String> names = new java.util.TreeSet<>();
            map.forEach(v -> names.add(v.asText()));
            files = new ArrayList<>();
            for (String name : names) {
                Path f = dir.resolve(name).normalize();
                if (!f.startsWith(dir.normalize()) || !Files.isRegularFile(f)) {
                    throw new IOException(index + " names " + name + ", which is not a file of " + dir);
                }
                files.add(f);
            }
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> p.toString().endsWith(".safetensors"))
                        .sorted()
                        .toList();
            }
        }
        if (files.isEmpty()) {
            throw new IOException(dir + " has no *.safetensors file");
        }
        return files;
    }

    /** Tensors looked up across the files of one checkpoint. */
    private record Tensors(List<Safetensors> files) {
        boolean has(String name) {
            return files.stream().anyMatch(f -> f.has(name));
        }

        float[] floats(String name, long n) throws IOException {
            Safetensors found = null;
            for (Safetensors f : files) {
                if (f.has(name)) {
                    if (found != null) {
                        throw new IOException("tensor " + name + " is in two files, "
                                + found.file().getFileName() + " and "
                                + f.file().getFileName() + "; remove the stale one");
                    }
                    found = f;
                }
            }
            if (found == null) {
                throw new IOException("missing tensor " + name);
            }
            return found.floats(name, n);
        }

        Matrix matrix(String name, int rows, int cols) throws IOException {
            return new F32Matrix(floats(name, (long) rows * cols), rows, cols);
        }
    }
}
