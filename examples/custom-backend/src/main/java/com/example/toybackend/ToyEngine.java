package com.example.toybackend;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A complete, if tiny, backend: admission with limits, validation, generation on a bounded pool, streaming deltas,
 * stop conditions, cancellation and load reporting. It declares what it does in {@link EngineCapabilities}: token
 * ids, seeded sampling and an admission limit; no KV events, cache dump, log-probabilities or prefix cache, so the
 * TCK's cases for those do not apply and Tandem's router predicts its cache from its own decisions.
 *
 * <p>Threads: {@link #generate} returns at once; each admitted request runs on a pool of {@code maxNumSeqs}
 * threads; at most {@code maxWaiting} more wait for one, beyond that OVERLOADED.
 */
final class ToyEngine implements Engine {

    static final EngineCapabilities CAPABILITIES =
            new EngineCapabilities(true, false, false, false, true, true, false, false);

    private final EngineConfig config;
    private final EngineInfo info;
    private final ExecutorService pool;
    private final Semaphore admission;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();

    ToyEngine(EngineConfig config) {
        this.config = config;
        this.info = new EngineInfo(
                "toy-lm",
                config.blockSize(),
                ToyModel.CONTEXT,
                config.kvBlocks(),
                ToyModel.VOCAB,
                Set.of(ToyModel.EOS),
                null,
                0,
                CAPABILITIES);
        this.pool = Executors.newFixedThreadPool(config.maxNumSeqs(), r -> {
            Thread t = new Thread(r, "toy-" + config.workerId());
            t.setDaemon(true);
            return t;
        });
        this.admission = new Semaphore(config.maxNumSeqs() + config.maxWaiting());
    }

    @Override
    public EngineInfo info() {
        return info;
    }

    @Override
    public Generation generate(GenerateRequest request, TokenListener listener) {
        int[] prompt = request.promptTokens();
        if (prompt.length >= ToyModel.CONTEXT) {
            throw invalid("the prompt has " + prompt.length + " tokens; the context is " + ToyModel.CONTEXT);
        }
        for (int t : prompt) {
            if (t < 0 || t >= ToyModel.VOCAB) {
                throw invalid("token id " + t + " is outside the vocabulary of " + ToyModel.VOCAB);
            }
        }
        if (request.sampling().wantsLogprobs()) {
            throw invalid("the toy engine does not compute log-probabilities"); // as its capabilities say
        }
        if (request.stop().maxTokens() > ToyModel.CONTEXT - prompt.length) {
            throw invalid("max tokens exceed the room left in the context");
        }
        if (!admission.tryAcquire()) {
            throw new EngineException(EngineException.Kind.OVERLOADED, "the toy engine is full");
        }
        AtomicBoolean cancelled = new AtomicBoolean();
        waiting.incrementAndGet();
        pool.execute(() -> {
            waiting.decrementAndGet();
            running.incrementAndGet();
            try {
                run(request, listener, cancelled);
            } finally {
                running.decrementAndGet();
                admission.release();
            }
        });
        return new Generation() {
            @Override
            public String requestId() {
                return request.requestId();
            }

            @Override
            public void cancel() {
                cancelled.set(true);
            }
        };
    }

    private static void run(GenerateRequest r, TokenListener listener, AtomicBoolean cancelled) {
        long h = 0xcbf29ce484222325L;
        for (int t : r.promptTokens()) {
            h = ToyModel.feed(h, t);
        }
        StopConditions stop = r.stop();
        Long seed = r.sampling().seed();
        Random rnd = seed == null ? new Random() : new Random(seed);
        int generated = 0;
        FinishReason reason = FinishReason.LENGTH;
        while (generated < stop.maxTokens()) {
            if (cancelled.get()) {
                reason = FinishReason.CANCELLED;
                break;
            }
            int token = ToyModel.next(h, r.sampling().temperature(), rnd);
            h = ToyModel.feed(h, token);
            generated++;
            boolean eos = token == ToyModel.EOS && !stop.ignoreEos() && generated > stop.minTokens();
            boolean stopId = stop.stopTokenIds().contains(token) && generated > stop.minTokens();
            if (eos || stopId || generated == stop.maxTokens()) {
                reason = eos || stopId ? FinishReason.STOP : FinishReason.LENGTH;
                listener.onDelta(
                        TokenDelta.finished(new int[] {token}, reason, new Usage(r.promptLength(), 0, generated)));
                return;
            }
            listener.onDelta(TokenDelta.tokens(token));
            pause(); // a real engine computes here; the pause makes streaming and cancellation observable
        }
        listener.onDelta(TokenDelta.finished(new int[0], reason, new Usage(r.promptLength(), 0, generated)));
    }

    private static void pause() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Kind.INVALID_REQUEST, message);
    }

    @Override
    public LoadSnapshot load() {
        return new LoadSnapshot(
                config.workerId(), running.get(), waiting.get(), 0, config.kvBlocks(), 0, System.nanoTime());
    }

    /** No prefix cache here: the dump is empty, and the capabilities say so. */
    @Override
    public KvStateDump dumpKvState() {
        return new KvStateDump(config.workerId(), 0, new long[0]);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
