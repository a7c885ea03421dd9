package dev.tandem.engine.sim;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import dev.tandem.engine.BuiltinEngine;
import dev.tandem.engine.EngineCore;
import dev.tandem.engine.scheduler.Scheduler;
import dev.tandem.engine.scheduler.SchedulerConfig;
import java.util.Map;
import java.util.Set;

/**
 * {@code --engine sim}: the built-in engine (same scheduler and KV cache as real compute) with the timing-model
 * backend. Without a model it serves the demo model: the byte-level vocabulary, printable ASCII pseudo-text and an
 * occasional EOS. Options: {@code vocab-size}, {@code context-length}, {@code eos-one-in}.
 */
public final class SimEngineProvider implements EngineProvider {

    public static final String DEMO_MODEL = "tandem-demo";
    public static final int DEFAULT_CONTEXT = 32768;

    @Override
    public String name() {
        return "sim";
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
        return core(config);
    }

    /** The engine description for {@code config}. */
    public static EngineInfo info(EngineConfig config) {
        Map<String, String> o = config.options();
        int vocab = Integer.parseInt(o.getOrDefault("vocab-size", String.valueOf(ByteLevelTokenizer.VOCAB_SIZE)));
        int context = Integer.parseInt(o.getOrDefault("context-length", String.valueOf(DEFAULT_CONTEXT)));
        String model = config.model() == null ? DEMO_MODEL : config.model();
        Set<Integer> eos = vocab == ByteLevelTokenizer.VOCAB_SIZE ? Set.of(ByteLevelTokenizer.EOS) : Set.of();
        return new EngineInfo(model, config.blockSize(), context, config.kvBlocks(), vocab, eos);
    }

    /** A single-threaded core for {@code config}, for embedding in a discrete-event simulation. */
    public static EngineCore core(EngineConfig config) {
        EngineInfo info = info(config);
        int eosOneIn = Integer.parseInt(config.options().getOrDefault("eos-one-in", "256"));
        SimTokens tokens = info.vocabSize() == ByteLevelTokenizer.VOCAB_SIZE
                ? new SimTokens(config.seed(), 32, 127, ByteLevelTokenizer.EOS, eosOneIn)
                : new SimTokens(config.seed(), 0, info.vocabSize(), -1, 0);
        SchedulerConfig sc = new SchedulerConfig(
                config.blockSize(),
                config.kvBlocks(),
                config.maxNumBatchedTokens(),
                config.maxNumSeqs(),
                info.contextLength());
        return new EngineCore(
                config.workerId(),
                info,
                new Scheduler(
                        sc,
                        new dev.tandem.engine.kv.KvBlockManager(sc.kvBlocks(), sc.blockSize()),
                        info.eosTokenIds(),
                        config.kvConnector()),
                new SimComputeBackend(tokens, info.vocabSize(), info.contextLength()),
                config.kvEvents());
    }
}
