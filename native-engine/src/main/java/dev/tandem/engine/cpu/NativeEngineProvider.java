package dev.tandem.engine.cpu;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.engine.BuiltinEngine;
import dev.tandem.engine.EngineCore;
import dev.tandem.engine.compute.BackendFactory;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.kv.KvBlockManager;
import dev.tandem.engine.model.Llama2cLoader;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;
import dev.tandem.engine.model.ModelLoader;
import dev.tandem.engine.model.ModelWriter;
import dev.tandem.engine.model.WeightTypes;
import dev.tandem.engine.scheduler.Scheduler;
import dev.tandem.engine.scheduler.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code --engine native}: the built-in engine (the same scheduler and paged KV cache as {@code sim}) with real
 * compute on the CPU. Options: {@code dtype} (f32, bf16 or int8 weights; default f32), {@code threads} (default: the cores), {@code kv-memory-bytes} (KV budget, default
 * 512 MiB; the worker's KV capacity is the smaller of this and {@code kvBlocks}), {@code served-name}.
 */
public final class NativeEngineProvider implements EngineProvider {

    static final long DEFAULT_KV_BYTES = 512L << 20;

    /**
     * The demo model served without {@code --model}: seeded random weights on the byte-level vocabulary (ids 0–255
     * bytes, BOS 256, EOS 257) with an 8,192-token context, small enough that a 2,000-token prompt prefills in
     * about a second on two cores. Its text is meaningless; its compute is real.
     */
    public static final String DEMO_MODEL =
            "random:dim=256,hidden=768,layers=4,heads=8,kv_heads=4,vocab=258,seq=8192,bos=256,eos=257,seed=7";

    public static final String DEMO_NAME = "tandem-demo";

    @Override
    public String name() {
        return "native";
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Engine create(EngineConfig config) {
        return new BuiltinEngine(config, core(config));
    }

    @Override
    public EngineCore createStepped(EngineConfig config) {
        throw new UnsupportedOperationException(
                "engine 'native' computes in real time; it cannot be stepped on" + " virtual time");
    }

    static EngineCore core(EngineConfig config) {
        return core(config, new CpuBackends());
    }

    /** The CPU backend: KV in the Java heap (512 MiB unless set), compute on {@code threads} cores. */
    private static final class CpuBackends implements BackendFactory {

        @Override
        public long defaultKvBytes(EngineConfig config, LlamaConfig model, LlamaWeights weights) {
            return DEFAULT_KV_BYTES;
        }

        @Override
        public long bytesPerBlock(LlamaConfig model, int blockSize) {
            return PagedKvStore.bytesPerBlock(model.layers(), blockSize, model.kvDim());
        }

        @Override
        public ComputeBackend create(EngineConfig config, LlamaConfig model, LlamaWeights weights, int blocks) {
            int threads = Integer.parseInt(config.options()
                    .getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
            return new CpuComputeBackend(model, weights, blocks, config.blockSize(), threads);
        }
    }

    /**
     * The built-in engine on {@code backends}: the model ({@code config.model()}, or the demo model) in the weight type
     * of option {@code dtype}, a KV capacity that fits option {@code kv-memory-bytes} (or the backend's default), the
     * scheduler and block manager, and the backend computing under them.
     */
    public static EngineCore core(EngineConfig config, BackendFactory backends) {
        String reference = config.model() == null ? DEMO_MODEL : config.model();
        Llama2cLoader.Loaded m;
        try {
            m = ModelLoader.load(reference);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.INVALID_REQUEST, e.getMessage(), e);
        }
        LlamaConfig c = m.config();
        Map<String, String> o = config.options();
        LlamaWeights weights;
        try {
            weights = WeightTypes.convert(m.weights(), o.getOrDefault("dtype", "f32"));
        } catch (IllegalArgumentException e) {
            throw new EngineException(EngineException.Kind.INVALID_REQUEST, e.getMessage(), e);
        }
        long kvBytes = o.containsKey("kv-memory-bytes")
                ? Long.parseLong(o.get("kv-memory-bytes"))
                : backends.defaultKvBytes(config, c, weights);
        int bs = config.blockSize();
        int budget = (int) Math.max(1, Math.min(Integer.MAX_VALUE, kvBytes / backends.bytesPerBlock(c, bs)));
        // A checkpoint's context can need far more KV than the budget (131,072 positions of a 1B Llama: ~8 GiB):
        // serve the context that fits, as a shorter max_model_len, rather than overrun the memory the user set.
        int context = Math.min(backends.maxContext(c), Math.max(bs, (budget - 1) * bs));
        if (context < c.contextLength()) {
            System.getLogger(NativeEngineProvider.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "serving a context of " + context + " tokens instead of the model's " + c.contextLength()
                                    + ": that is "
                                    + (context == backends.maxContext(c)
                                            ? "the longest context this engine attends over"
                                            : "what " + kvBytes + " bytes of KV cache hold (option kv-memory-bytes)"));
        }
        int perSequence = (context + bs - 1) / bs;
        int blocks = Math.min(config.kvBlocks(), Math.min(budget, perSequence * config.maxNumSeqs()));
        blocks = Math.max(blocks, perSequence + 1);
        String name = o.getOrDefault(
                "served-name", config.model() == null ? DEMO_NAME : ModelLoader.servedName(config.model()));
        Set<Integer> eos = m.eosTokenIds();
        EngineInfo info = new EngineInfo(
                name,
                bs,
                context,
                blocks,
                c.vocabSize(),
                eos,
                config.model(),
                weights.bytesReadPerStep(),
                dev.tandem.api.engine.EngineCapabilities.BUILT_IN.withDisaggregation(config.kvConnector() != null));
        SchedulerConfig sc =
                new SchedulerConfig(bs, blocks, config.maxNumBatchedTokens(), config.maxNumSeqs(), context);
        ComputeBackend backend = backends.create(config, c, weights, blocks);
        // Loading leaves the young generation full of large arrays (the weights, the KV store, and with --dtype the
        // f32 originals): collect now, once, rather than in the middle of the first requests. In a batch-1 decode a
        // young collection of these arrays took 31 ms (125-250 ms during loading) under the Parallel collector.
        System.gc();
        var scheduler = new Scheduler(sc, new KvBlockManager(blocks, bs), eos, config.kvConnector());
        return new EngineCore(config.workerId(), info, scheduler, backend, config.kvEvents());
    }

    /**
     * Formats: {@code llama2c} (one checkpoint file, f32) and {@code hf} (config.json + safetensors); options for
     * {@code hf}: {@code dtype} (f32, f16, bf16; default f32) and {@code shards} (files; default 1).
     */
    @Override
    public void writeModel(String model, String format, Path output, Map<String, String> options) throws IOException {
        Map<String, String> rest = new HashMap<>(options);
        String dtype = rest.remove("dtype");
        String shards = rest.remove("shards");
        if (!rest.isEmpty()) {
            throw new IllegalArgumentException("unknown model-writing options " + rest.keySet() + " (dtype, shards)");
        }
        if (format.equals("llama2c")
                && (dtype != null && !dtype.equalsIgnoreCase("f32") || shards != null && !shards.equals("1"))) {
            throw new IllegalArgumentException("llama2c checkpoints are one f32 file: no dtype or shards options");
        }
        if (!format.equals("llama2c") && !format.equals("hf")) {
            throw new IllegalArgumentException("unknown model format '" + format + "' (llama2c, hf)");
        }
        int files;
        try {
            files = shards == null ? 1 : Integer.parseInt(shards);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("shards must be a number, not '" + shards + "'");
        }
        Llama2cLoader.Loaded m = ModelLoader.load(model);
        if (format.equals("llama2c")) {
            ModelWriter.writeLlama2c(m, output);
        } else {
            String type = (dtype == null ? "f32" : dtype).toLowerCase(Locale.ROOT);
            if (!List.of("f32", "f16", "bf16").contains(type)) {
                throw new IllegalArgumentException("unknown dtype '" + dtype + "' for hf (f32, f16, bf16)");
            }
            ModelWriter.writeHuggingFace(m, output, type.toUpperCase(Locale.ROOT), files);
        }
    }
}
