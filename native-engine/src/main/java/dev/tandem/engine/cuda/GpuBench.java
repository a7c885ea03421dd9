package dev.tandem.engine.cuda;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The GPU benchmark of {@code scripts/gpu-check}, for the self-contained bundle that runs on a GPU machine without the
 * CLI: the device's copy bandwidth, then on one cuda engine a prefill of {@code PROMPT} tokens, batch-1 decode and
 * batch-32 decode; prints one JSON line with the roofline (bandwidth ÷ weight bytes per token) from the same run.
 * {@code bin/tandem bench engine --engine cuda} reports the same quantities where the whole CLI is installed.
 *
 * <p>Usage: {@code GpuBench MODEL DTYPE PROMPT GEN_LEN [OPTION=VALUE ...]} (engine options, e.g.
 * {@code tensor-cores=true}).
 */
public final class GpuBench {

    private GpuBench() {}

    /** Arrival times (ns) of each token of one request, and its end. */
    private static final class Timing implements TokenListener {
        final List<Long> times = new ArrayList<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();

        @Override
        public synchronized void onDelta(TokenDelta d) {
            long now = System.nanoTime();
            for (int i = 0; i < d.tokenIds().length; i++) {
                times.add(now);
            }
            if (d.finishReason() != null) {
                done.complete(null);
            }
        }

        @Override
        public void onError(EngineException error) {
            done.completeExceptionally(error);
        }
    }

    private static int[] prompt(SplittableRandom r, int length, int vocab) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + r.nextInt(vocab - 3);
        }
        return p;
    }

    private static List<Timing> run(Engine e, int seqs, int promptLen, int tokens, long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        List<Timing> out = new ArrayList<>();
        for (int i = 0; i < seqs; i++) {
            Timing t = new Timing();
            out.add(t);
            e.generate(
                    new GenerateRequest(
                            "b" + seed + "-" + i,
                            prompt(r, promptLen, e.info().vocabSize()),
                            SamplingParams.GREEDY,
                            StopConditions.maxTokens(tokens).withIgnoreEos(true)),
                    t);
        }
        for (Timing t : out) {
            t.done.get(30, TimeUnit.MINUTES);
        }
        return out;
    }

    /** Decode tokens per second: tokens after each sequence's first, over the window from first to last arrival. */
    private static double decodeRate(List<Timing> ts) {
        long start = Long.MAX_VALUE;
        long end = 0;
        long tokens = 0;
        for (Timing t : ts) {
            start = Math.min(start, t.times.get(0));
            end = Math.max(end, t.times.get(t.times.size() - 1));
            tokens += t.times.size() - 1;
        }
        return tokens / ((end - start) / 1e9);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: GpuBench MODEL DTYPE PROMPT_TOKENS GEN_LEN [OPTION=VALUE ...]");
            System.exit(2);
        }
        // Engine options after the four arguments, e.g. tensor-cores=true.
        Map<String, String> options = new java.util.HashMap<>(Map.of("dtype", args[1]));
        for (int i = 4; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            options.put(kv[0], kv.length == 2 ? kv[1] : "true");
        }
        String model = args[0];
        String dtype = args[1];
        int promptLen = Integer.parseInt(args[2]);
        int genLen = Integer.parseInt(args[3]);
        EngineConfig config = EngineConfig.builder()
                .workerId("gpu-bench")
                .model(model)
                .blockSize(16)
                .maxNumSeqs(32)
                .maxNumBatchedTokens(Math.max(2048, promptLen))
                .options(options)
                .build();
        CudaEngineProvider provider = new CudaEngineProvider();
        double bandwidth = provider.measureMemoryBandwidth(config)
                .orElseThrow(() -> new IllegalStateException(provider.unavailableReason()));
        long t0 = System.nanoTime();
        try (Engine e = provider.create(config)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            String json = measure(e, bandwidth, model, dtype, promptLen, genLen, 32, loadSeconds);
            var d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
            // A human summary first (for machines without python), then the JSON line.
            System.out.printf(
                    Locale.ROOT,
                    "summary: copy bandwidth %.0f GB/s, roofline %.1f tok/s; prefill %d tokens %.0f tok/s; batch-1"
                            + " decode %.1f tok/s (%.0f%% of the roofline); batch-32 decode %.0f tok/s%n",
                    d.get("memory_bandwidth_gb_s").asDouble(),
                    d.get("roofline_tok_s").asDouble(),
                    promptLen,
                    d.get("prefill_tok_s").asDouble(),
                    d.get("decode_tok_s").asDouble(),
                    100 * d.get("decode_roofline_fraction").asDouble(),
                    d.get("batch_decode_tok_s").asDouble());
            System.out.println(json);
        }
    }

    /** The benchmark on engine {@code e} of a device with {@code bandwidth} bytes/s, as one JSON object. */
    static String measure(
            Engine e, double bandwidth, String model, String dtype, int promptLen, int genLen, int batch, double load)
            throws Exception {
        long weightBytes = e.info().weightBytesPerToken();
        double roofline = bandwidth / weightBytes;
        // Progress lines as each figure is known, so that a run cut short by its time limit still reports some.
        System.out.printf(
                Locale.ROOT,
                "progress: loaded in %.1f s; bandwidth %.1f GB/s; roofline %.1f tok/s%n",
                load,
                bandwidth / 1e9,
                roofline);
        // Warm-up: the decode graphs used below, and one prefill of the measured length.
        run(e, 1, promptLen, 2, 1);
        run(e, batch, 16, 4, 2);
        long p0 = System.nanoTime();
        List<Timing> prefill = run(e, 1, promptLen, 1, 3);
        double prefillSeconds = (prefill.get(0).times.get(0) - p0) / 1e9;
        System.out.printf(
                Locale.ROOT, "progress: prefill %d tokens %.1f tok/s%n", promptLen, promptLen / prefillSeconds);
        double batch1 = decodeRate(run(e, 1, 16, genLen, 4));
        System.out.printf(
                Locale.ROOT,
                "progress: batch-1 decode %.1f tok/s (%.0f%% of the roofline)%n",
                batch1,
                100 * batch1 / roofline);
        double batched = decodeRate(run(e, batch, 16, Math.max(2, genLen / 2), 5));
        return String.format(
                Locale.ROOT,
                "{\"model\":\"%s\",\"dtype\":\"%s\",\"load_s\":%.1f,\"memory_bandwidth_gb_s\":%.1f,"
                        + "\"weight_bytes_per_token\":%d,\"roofline_tok_s\":%.1f,\"prefill_tokens\":%d,"
                        + "\"prefill_tok_s\":%.1f,\"decode_tok_s\":%.1f,\"batch\":%d,\"batch_decode_tok_s\":%.1f,"
                        + "\"decode_roofline_fraction\":%.3f}",
                model,
                dtype,
                load,
                bandwidth / 1e9,
                weightBytes,
                roofline,
                promptLen,
                promptLen / prefillSeconds,
                batch1,
                batch,
                batched,
                batch1 / roofline);
    }
}
