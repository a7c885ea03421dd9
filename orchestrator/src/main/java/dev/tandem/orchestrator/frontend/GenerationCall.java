package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.orchestrator.preprocess.IncrementalDetokenizer;
import dev.tandem.orchestrator.preprocess.StopStringMatcher;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingRequest;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One prompt's trip through the cluster: route, dispatch, then turn the worker's token deltas into text pieces with
 * stop strings cut exactly. A dispatch that the worker refuses as unavailable is retried on another worker.
 *
 * <p>Used by one virtual thread: {@link #start} then {@link #await}.
 */
final class GenerationCall {

    private static final Object ERROR = new Object();

    private final String requestId;
    private final int[] prompt;
    private final GenerationSpec spec;
    private final Tokenizer tokenizer;
    private final int contextLength;
    private final Router router;
    private final WorkerPool pool;
    private final Duration timeout;
    private final LinkedBlockingQueue<Object> deltas = new LinkedBlockingQueue<>();
    private volatile EngineException failure;
    private Generation generation;
    private String workerId;
    private int overlapBlocks;

    GenerationCall(
            String requestId,
            int[] prompt,
            GenerationSpec spec,
            Tokenizer tokenizer,
            int contextLength,
            Router router,
            WorkerPool pool,
            Duration timeout) {
        this.requestId = requestId;
        this.prompt = prompt;
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.router = router;
        this.pool = pool;
        this.timeout = timeout;
    }

    /** Routes and dispatches; returns the instance id of the worker that serves the request. */
    String start() {
        if (prompt.length >= contextLength) {
            throw ApiException.invalid(
                    "The prompt has " + prompt.length + " tokens but the model's context is " + contextLength
                            + " tokens, including at least one to generate",
                    "prompt");
        }
        int room = contextLength - prompt.length;
        int maxTokens = spec.maxTokens() == null ? room : Math.min(spec.maxTokens(), room);
        SamplingParams sampling = spec.sampling();
        StopConditions stop = new StopConditions(
                maxTokens, spec.stopTokenIds(), spec.ignoreEos(), Math.min(spec.minTokens(), maxTokens));
        GenerateRequest request = new GenerateRequest(requestId, prompt, sampling, stop, spec.cacheSalt());
        long[] hashes = BlockHasher.forSalt(spec.cacheSalt()).sequenceHashes(prompt, pool.blockSize());
        RoutingRequest routing = new RoutingRequest(requestId, prompt.length, hashes, pool.blockSize());

        Set<String> failed = new HashSet<>();
        while (true) {
            List<String> ids = new ArrayList<>();
            for (var w : pool.workersFor(spec.model())) {
                if (!failed.contains(w.id())) {
                    ids.add(w.id());
                }
            }
            if (ids.isEmpty()) {
                throw ApiException.unavailable("No worker is available for model '" + spec.model() + "'");
            }
            Router.Decision d = router.route(routing, ids);
            var worker = pool.worker(d.workerId());
            try {
                if (worker.isEmpty()) {
                    throw new EngineException(EngineException.Kind.UNAVAILABLE, "worker left");
                }
                generation = worker.get().client().generate(request, listener());
                workerId = d.workerId();
                overlapBlocks = d.overlapBlocks();
                return workerId;
            } catch (EngineException e) {
                router.finish(requestId);
                switch (e.kind()) {
                    case UNAVAILABLE -> failed.add(d.workerId());
                    case INVALID_REQUEST -> throw ApiException.invalid(e.getMessage(), null);
                    case OVERLOADED -> throw ApiException.overloaded(e.getMessage());
                    case INTERNAL -> throw e;
                }
            }
        }
    }

    int overlapBlocks() {
        return overlapBlocks;
    }

    private TokenListener listener() {
        return new TokenListener() {
            @Override
            public void onDelta(TokenDelta delta) {
                deltas.add(delta);
            }

            @Override
            public void onError(EngineException error) {
                failure = error;
                deltas.add(ERROR);
            }
        };
    }

    /** Streams the output to {@code observer} until the request finishes; cancels it if the observer throws. */
    void await(GenerationObserver observer) throws InterruptedException {
        IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer);
        StopStringMatcher stops = new StopStringMatcher(spec.stop());
        Set<Integer> special = tokenizer.eosTokenIds();
        boolean first = true;
        int completion = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                Object item = deltas.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (item == null) {
                    throw ApiException.unavailable("The request timed out after " + timeout.toSeconds() + " s");
                }
                if (item == ERROR) {
                    throw failure;
                }
                TokenDelta d = (TokenDelta) item;
                if (first && d.tokenIds().length > 0) {
                    router.firstToken(requestId);
                    first = false;
                }
                if (!stops.stopped()) {
                    completion += d.tokenIds().length;
                    String piece = detok.add(visible(d.tokenIds(), special));
                    if (d.isFinal()) {
                        piece += detok.flush();
                    }
                    String out = stops.add(piece);
                    if (d.isFinal() && !stops.stopped()) {
                        out += stops.flush();
                    }
                    if (!out.isEmpty() || d.tokenIds().length > 0) {
                        observer.onText(out, d.tokenIds());
                    }
                    if (stops.stopped() && !d.isFinal()) {
                        generation.cancel(); // the final (cancelled) delta still brings the usage
                    }
                }
                if (d.isFinal()) {
                    Usage u = d.usage();
                    if (stops.stopped()) {
                        observer.onFinish(
                                FinishReason.STOP, new Usage(u.promptTokens(), u.cachedPromptTokens(), completion));
                    } else {
                        observer.onFinish(d.finishReason(), u);
                    }
                    return;
                }
            }
        } catch (RuntimeException | InterruptedException e) {
            generation.cancel();
            throw e;
        } finally {
            router.finish(requestId);
        }
    }

    private static int[] visible(int[] ids, Set<Integer> special) {
        int n = 0;
        for (int id : ids) {
            if (!special.contains(id)) {
                n++;
            }
        }
        if (n == ids.length) {
            return ids;
        }
        int[] out = new int[n];
        int i = 0;
        for (int id : ids) {
            if (!special.contains(id)) {
                out[i++] = id;
            }
        }
        return out;
    }
}
