package dev.tandem.api.engine;

import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.time.Clock;
import java.util.Map;
import java.util.Objects;

/**
 * Everything an engine needs to start. Immutable; build with {@link #builder()}.
 *
 * @param workerId the instance id that KV events and load snapshots carry
 * @param model a model reference the provider understands (a path, {@code org/name}, {@code random:...}); null for
 *     the provider's demo model
 * @param blockSize KV block size in tokens
 * @param kvBlocks KV capacity in blocks
 * @param maxNumBatchedTokens token budget of one scheduler step
 * @param maxNumSeqs most sequences running at once
 * @param maxWaiting most requests queued before admission refuses with OVERLOADED
 * @param seed seed of deterministic behaviour (sim tokens, random models)
 * @param speedup how much faster than real time a timing-model backend runs (1 = real time)
 * @param clock the time source; a virtual clock makes replays independent of the wall clock
 * @param kvEvents where KV events go
 * @param options provider-specific settings
 * @param kvConnector moves KV blocks to and from other workers and memory tiers; null for none. Engines that
 *     cannot use one ignore it (their capabilities say so)
 */
public record EngineConfig(
        String workerId,
        String model,
        int blockSize,
        int kvBlocks,
        int maxNumBatchedTokens,
        int maxNumSeqs,
        int maxWaiting,
        long seed,
        double speedup,
        Clock clock,
        KvEventSink kvEvents,
        Map<String, String> options,
        dev.tandem.api.kv.connector.KvConnector kvConnector) {

    public EngineConfig {
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(kvEvents, "kvEvents");
        options = Map.copyOf(options);
        if (blockSize < 1) throw invalid("block size must be >= 1");
        if (kvBlocks < 1) throw invalid("kv blocks must be >= 1");
        if (maxNumBatchedTokens < 1) throw invalid("max_num_batched_tokens must be >= 1");
        if (maxNumSeqs < 1) throw invalid("max_num_seqs must be >= 1");
        if (maxWaiting < 0) throw invalid("max waiting must be >= 0");
        if (!(speedup > 0)) throw invalid("speedup must be > 0");
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Kind.INVALID_REQUEST, message);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .workerId(workerId)
                .model(model)
                .blockSize(blockSize)
                .kvBlocks(kvBlocks)
                .maxNumBatchedTokens(maxNumBatchedTokens)
                .maxNumSeqs(maxNumSeqs)
                .maxWaiting(maxWaiting)
                .seed(seed)
                .speedup(speedup)
                .clock(clock)
                .kvEvents(kvEvents)
                .options(options)
                .kvConnector(kvConnector);
    }

    /** Defaults follow Dynamo's mocker: 16,384 blocks of 64 tokens, 8,192 batched tokens, 256 sequences. */
    public static final class Builder {
        private String workerId = "worker-0";
        private String model;
        private int blockSize = 64;
        private int kvBlocks = 16384;
        private int maxNumBatchedTokens = 8192;
        private int maxNumSeqs = 256;
        private int maxWaiting = 4096;
        private long seed = 0;
        private double speedup = 1;
        private Clock clock = Clock.system();
        private KvEventSink kvEvents = KvEventSink.NONE;
        private Map<String, String> options = Map.of();
        private dev.tandem.api.kv.connector.KvConnector kvConnector;

        public Builder workerId(String v) {
            workerId = v;
            return this;
        }

        public Builder model(String v) {
            model = v;
            return this;
        }

        public Builder blockSize(int v) {
            blockSize = v;
            return this;
        }

        public Builder kvBlocks(int v) {
            kvBlocks = v;
            return this;
        }

        public Builder maxNumBatchedTokens(int v) {
            maxNumBatchedTokens = v;
            return this;
        }

        public Builder maxNumSeqs(int v) {
            maxNumSeqs = v;
            return this;
        }

        public Builder maxWaiting(int v) {
            maxWaiting = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder speedup(double v) {
            speedup = v;
            return this;
        }

        public Builder clock(Clock v) {
            clock = v;
            return this;
        }

        public Builder kvEvents(KvEventSink v) {
            kvEvents = v;
            return this;
        }

        public Builder options(Map<String, String> v) {
            options = v;
            return this;
        }

        public Builder kvConnector(dev.tandem.api.kv.connector.KvConnector v) {
            kvConnector = v;
            return this;
        }

        public EngineConfig build() {
            return new EngineConfig(
                    workerId,
                    model,
                    blockSize,
                    kvBlocks,
                    maxNumBatchedTokens,
                    maxNumSeqs,
                    maxWaiting,
                    seed,
                    speedup,
                    clock,
                    kvEvents,
                    options,
                    kvConnector);
        }
    }
}
