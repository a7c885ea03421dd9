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
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench engine}: prefill and decode speed of one in-process engine. {@code batch} requests with random
 * prompts of {@code prompt-len} tokens start together; prefill tok/s is their prompt tokens over the time until the
 * last first token, decode tok/s the tokens generated after that over the time they took. A short untimed run
 * first lets the JIT compile the kernels. Flags and JSON fields are a contract.
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

    @Option(names = "--gen-len", defaultValue = "128", description = "Generated tokens (default: ${DEFAULT-VALUE}).")
    int genLen;

    @Option(names = "--json", description = "Print the result as one JSON object on the last stdout line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || promptLen < 1 || genLen < 2) {
            throw new IllegalArgumentException("--batch and --prompt-len must be >= 1, --gen-len >= 2");
        }
        Map<String, String> options = compute.engineOptions();
        EngineConfig config = EngineConfig.builder()
                .workerId("bench")
                .model(model)
                .blockSize(16)
                .maxNumSeqs(Math.max(batch, 1))
                .options(options)
                .build();
        try (Engine e = Engines.provider(engine).create(config)) {
            int vocab = e.info().vocabSize();
            run(e, vocab, Math.min(batch, 4), Math.min(promptLen, 16), 16, 1); // JIT warm-up, untimed
            long[] t = run(e, vocab, batch, promptLen, genLen, 2);
            double prefillS = (t[1] - t[0]) / 1e9;
            double decodeS = (t[2] - t[1]) / 1e9;
            long decoded = (long) batch * (genLen - 1);
            ObjectNode o = Json.object();
            o.put("model", model);
            o.put("dtype", compute.dtype);
            o.put("batch", batch);
            o.put("prompt_len", promptLen);
            o.put("gen_len", genLen);
            o.put("threads", compute.threadCount());
            o.put("prefill_tok_s", round((double) batch * promptLen / prefillS));
            o.put("decode_tok_s", round(decoded / decodeS));
            o.put("decode_s", round(decodeS));
            System.err.printf(
                    "tandem: %s batch %d: prefill %.1f tok/s, decode %.1f tok/s%n",
                    model,
                    batch,
                    o.get("prefill_tok_s").asDouble(),
                    o.get("decode_tok_s").asDouble());
            System.out.println(json ? Json.text(o) : o.toPrettyString());
        }
        return 0;
    }

    /** Returns {start, last first token, end} in nanoseconds. */
    private static long[] run(Engine e, int vocab, int batch, int promptLen, int genLen, long seed)
            throws InterruptedException {
        SplittableRandom r = new SplittableRandom(seed);
        CountDownLatch firsts = new CountDownLatch(batch);
        CountDownLatch done = new CountDownLatch(batch);
        AtomicLong lastFirst = new AtomicLong();
        AtomicLong end = new AtomicLong();
        long start = System.nanoTime();
        for (int b = 0; b < batch; b++) {
            int[] prompt = new int[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = r.nextInt(vocab);
            }
            boolean[] seen = new boolean[1];
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
                            if (!seen[0] && d.tokenIds().length > 0) {
                                seen[0] = true;
                                lastFirst.accumulateAndGet(now, Math::max);
                                firsts.countDown();
                            }
                            if (d.isFinal()) {
                                end.accumulateAndGet(now, Math::max);
                                done.countDown();
                            }
                        }

                        @Override
                        public void onError(EngineException error) {
                            done.countDown();
                        }
                    });
        }
        if (!done.await(1, TimeUnit.HOURS)) {
            throw new IllegalStateException("the benchmark did not finish within an hour");
        }
        return new long[] {start, lastFirst.get(), end.get()};
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
