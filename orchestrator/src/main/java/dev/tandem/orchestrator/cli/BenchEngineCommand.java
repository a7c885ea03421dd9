package dev.tandem.orchestrator.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.orchestrator.frontend.Json;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench engine}: prefill and decode speed of one in-process engine. {@code batch} requests with random
 * prompts of {@code prompt-len} tokens start together and each generates {@code warmup-tokens + gen-len} tokens.
 * Prefill tok/s is the prompt tokens over the time until the last first token; decode tok/s counts the tokens after
 * each sequence's warm-up tokens, from the moment the last sequence finished its warm-up to the end, so JIT
 * compilation and the ramp-up stay out of it (untimed runs of up to two sequences with the same prompt length, at
 * least 2,048 prompt tokens in all, compile the prefill path before; with 16 warm-up tokens C2 was still compiling
 * the product loops early in the window, so the default is 64). TTFT is
 * per request; inter-token latency per generated token after the first. Flags and JSON fields are a contract.
 */
@Command(name = "engine", mixinStandardHelpOptions = true, description = "Prefill and decode speed of one engine.")
public final class BenchEngineCommand implements Callable<Integer> {

    @Mixin
    ComputeOptions compute;

    @Option(names = "--model", required = true, description = "Model reference (file, directory or random:SHAPE).")
    String model;

    @Option(names = "--engine", defaultValue = "native", description = "Engine (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--batch", defaultValue = "1", description = "Concurrent sequences (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--prompt-len", defaultValue = "16", description = "Prompt tokens (default: ${DEFAULT-VALUE}).")
    int promptLen;

    @Option(
            names = "--gen-len",
            defaultValue = "128",
            description = "Tokens generated and measured per sequence after the warm-up (default: ${DEFAULT-VALUE}).")
    int genLen;

    @Option(
            names = "--warmup-tokens",
            defaultValue = "64",
            description = "Tokens each sequence generates before decode is measured (default: ${DEFAULT-VALUE}).")
    int warmupTokens;

    @Option(
            names = "--json",
            description = "Print the result as one compact JSON object on the last stdout line (without it: the same"
                    + " object pretty-printed; a summary line always goes to stderr).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        require(batch >= 1, "--batch must be >= 1, not " + batch);
        require(promptLen >= 1, "--prompt-len must be >= 1, not " + promptLen);
        require(genLen >= 2, "--gen-len must be >= 2, not " + genLen);
        require(warmupTokens >= 0, "--warmup-tokens must be >= 0, not " + warmupTokens);
        Map<String, String> options = compute.engineOptions(engine);
        EngineConfig config = EngineConfig.builder()
                .workerId("bench")
                .model(model)
                .blockSize(16)
                .maxNumSeqs(Math.max(batch, 1))
                .options(options)
                .build();
        // A GPU engine's roofline comes from its device bandwidth, measured in this run before the engine takes the
        // device memory: batch-1 decode can at best read every weight once per token.
        var bandwidth = Engines.provider(engine).measureMemoryBandwidth(config);
        try (Engine e = Engines.provider(engine).create(config)) {
            int vocab = e.info().vocabSize();
            if (promptLen + warmupTokens + genLen > e.info().contextLength()) {
                throw new IllegalArgumentException("--prompt-len + --warmup-tokens + --gen-len exceed the model's"
                        + " context of " + e.info().contextLength() + " tokens");
            }
            // JIT warm-up, untimed, with the measured prompt length: the prefill kernels (blocks of queries, the
            // tiled products) are compiled on the shapes they will run, not in the middle of the timed prefill
            // (a 16-token warm-up left a 512-token prefill at half speed). Short prompts repeat it until 2,048
            // prompt tokens have gone through: one 16-token round left the timed 16-token prefill at 45 ms, where
            // a warm engine takes 23.
            int warmSeqs = Math.min(batch, 2);
            run(e, vocab, warmSeqs, promptLen, 16, 1);
            // Other prompts each round (seeds from 100), or the prefix cache would answer them.
            for (int round = 0, warmed = warmSeqs * promptLen; warmed < 2048; round++, warmed += warmSeqs * promptLen) {
                run(e, vocab, warmSeqs, promptLen, 2, 100 + round);
            }
            Trace[] traces = run(e, vocab, batch, promptLen, warmupTokens + genLen, 2);
            Result r = measure(traces, warmupTokens);
            ObjectNode o = Json.object();
            o.put("model", model);
            o.put("engine", engine);
            o.put("dtype", compute.dtype);
            o.put("batch", batch);
            o.put("prompt_len", promptLen);
            o.put("gen_len", genLen);
            o.put("warmup_tokens", warmupTokens);
            if (!engine.equals("cuda")) {
                o.put("threads", compute.threadCount());
            }
            o.put("weight_bytes_per_token", e.info().weightBytesPerToken());
            if (bandwidth.isPresent() && e.info().weightBytesPerToken() > 0) {
                o.put("memory_bandwidth_gb_s", round(bandwidth.getAsDouble() / 1e9));
                o.put("roofline_tok_s", round(bandwidth.getAsDouble() / e.info().weightBytesPerToken()));
            }
            o.put("prefill_tok_s", round((double) batch * promptLen / r.prefillSeconds()));
            o.put("decode_tok_s", round(r.decodedTokens() / r.decodeSeconds()));
            o.put("decode_tokens", r.decodedTokens());
            o.put("decode_s", round(r.decodeSeconds()));
            o.set("ttft_ms", distribution(r.ttftMs()));
            o.set("itl_ms", distribution(r.itlMs()));
            System.err.printf(
                    "tandem: %s batch %d: prefill %.1f tok/s, decode %.1f tok/s, TTFT p50 %.1f ms, ITL p50 %.2f ms%n",
                    model,
                    batch,
                    o.get("prefill_tok_s").asDouble(),
                    o.get("decode_tok_s").asDouble(),
                    o.get("ttft_ms").get("p50").asDouble(),
                    o.get("itl_ms").get("p50").asDouble());
            if (o.has("roofline_tok_s")) {
                System.err.printf(
                        "tandem: device bandwidth %.1f GB/s, roofline %.1f tok/s: decode at %.0f%% of it%n",
                        o.get("memory_bandwidth_gb_s").asDouble(),
                        o.get("roofline_tok_s").asDouble(),
                        100
                                * o.get("decode_tok_s").asDouble()
                                / o.get("roofline_tok_s").asDouble());
            }
            System.out.println(json ? Json.text(o) : o.toPrettyString());
        }
        return 0;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** One request: when it was submitted, and the time and token count of each delta that carried tokens. */
    record Trace(long submitted, long[] times, int[] counts, int deltas) {}

    record Result(double prefillSeconds, double decodeSeconds, long decodedTokens, double[] ttftMs, double[] itlMs) {}

    /** The figures of one timed run; the decode window opens when the last sequence has had its warm-up tokens. */
    static Result measure(Trace[] traces, int warmupTokens) {
        long start = Long.MAX_VALUE;
        long lastFirst = Long.MIN_VALUE;
        long windowStart = Long.MIN_VALUE;
        long end = Long.MIN_VALUE;
        double[] ttft = new double[traces.length];
        List<Double> itl = new ArrayList<>();
        for (int i = 0; i < traces.length; i++) {
            Trace t = traces[i];
            if (t.deltas() == 0) {
                throw new IllegalStateException("a benchmark request produced no tokens");
            }
            start = Math.min(start, t.submitted());
            lastFirst = Math.max(lastFirst, t.times()[0]);
            ttft[i] = (t.times()[0] - t.submitted()) / 1e6;
            end = Math.max(end, t.times()[t.deltas() - 1]);
            // The time of this sequence's last warm-up token (its first token when there is no warm-up): the
            // tokens after it are the measured ones, gen-len of them when there is a warm-up.
            int produced = 0;
            for (int d = 0; d < t.deltas(); d++) {
                produced += t.counts()[d];
                if (produced >= Math.max(1, warmupTokens)) {
                    windowStart = Math.max(windowStart, t.times()[d]);
                    break;
                }
            }
            for (int d = 1; d < t.deltas(); d++) {
                double gap = (t.times()[d] - t.times()[d - 1]) / 1e6 / t.counts()[d];
                for (int k = 0; k < t.counts()[d]; k++) {
                    itl.add(gap);
                }
            }
        }
        long decoded = 0;
        for (Trace t : traces) {
            for (int d = 0; d < t.deltas(); d++) {
                if (t.times()[d] > windowStart) {
                    decoded += t.counts()[d];
                }
            }
        }
        if (decoded == 0 || end <= windowStart) {
            throw new IllegalStateException("no token was generated after the warm-up tokens");
        }
        return new Result(
                (lastFirst - start) / 1e9,
                (end - windowStart) / 1e9,
                decoded,
                ttft,
                itl.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static ObjectNode distribution(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        ObjectNode o = Json.object();
        o.put("avg", v.length == 0 ? 0 : round(Arrays.stream(v).average().orElse(0)));
        o.put("p50", percentile(v, 0.50));
        o.put("p90", percentile(v, 0.90));
        o.put("p99", percentile(v, 0.99));
        return o;
    }

    /** Nearest-rank percentile of sorted values. */
    private static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return round(sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))]);
    }

    private static Trace[] run(Engine e, int vocab, int batch, int promptLen, int genLen, long seed)
            throws InterruptedException {
        SplittableRandom r = new SplittableRandom(seed);
        CountDownLatch done = new CountDownLatch(batch);
        Trace[] traces = new Trace[batch];
        AtomicReference<EngineException> failure = new AtomicReference<>();
        for (int b = 0; b < batch; b++) {
            int[] prompt = new int[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = r.nextInt(vocab);
            }
            int slot = b;
            long[] times = new long[genLen + 1];
            int[] counts = new int[genLen + 1];
            int[] deltas = new int[1];
            long submitted = System.nanoTime();
            e.generate(
                    new GenerateRequest(
                            "b" + seed + "-" + b,
                            prompt,
                            SamplingParams.GREEDY,
                            StopConditions.maxTokens(genLen).withIgnoreEos(true)),
                    new TokenListener() {
                        @Override
                        public void onDelta(TokenDelta d) {
                            long now = System.nanoTime();
                            int n = d.tokenIds().length;
                            if (n > 0 && deltas[0] < times.length) {
                                times[deltas[0]] = now;
                                counts[deltas[0]] = n;
                                deltas[0]++;
                            }
                            if (d.isFinal()) {
                                traces[slot] = new Trace(submitted, times, counts, deltas[0]);
                                done.countDown();
                            }
                        }

                        @Override
                        public void onError(EngineException error) {
                            failure.set(error);
                            traces[slot] = new Trace(submitted, times, counts, deltas[0]);
                            done.countDown();
                        }
                    });
        }
        if (!done.await(1, TimeUnit.HOURS)) {
            throw new IllegalStateException("the benchmark did not finish within an hour");
        }
        if (failure.get() != null) {
            throw new IllegalStateException(
                    "a benchmark request failed: " + failure.get().getMessage(), failure.get());
        }
        return traces;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
