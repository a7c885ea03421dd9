package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TextPrompt;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingRequest;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The worker side of one prompt: route, dispatch (with a remote prefill first when it is worth it), hand out the
 * engine's deltas, and absorb failures below the client. A dispatch the worker refuses as unavailable is retried on
 * another worker; a stream that breaks mid-generation is <em>migrated</em>: re-dispatched elsewhere with the prompt
 * plus the tokens generated so far and the remaining budget (at most {@code migrationLimit} times). Generation is
 * deterministic given the sequence so far, so the stream continues with no lost or repeated token, and the usage
 * counts the original prompt and every completion token. A failed worker is marked down in the pool.
 *
 * <p>Everything that goes wrong is an {@link EngineException}: only the HTTP edge turns errors into statuses.
 * Used by one thread: {@link #start}, then {@link #next} until a final delta, then {@link #finish}.
 */
final class Dispatcher {

    private static final Object ERROR = new Object();

    private final String requestId;
    private final int[] prompt;
    /** A prompt the engine tokenizes itself, or null: then {@link #prompt} is empty and its length unknown here. */
    private final TextPrompt text;

    private final GenerationSpec spec;
    private final Router router;
    private final WorkerPool pool;
    private final Duration timeout;
    private final int migrationLimit;
    private final Disaggregation disaggregation;
    /** Items the stream begins with before the worker's queue (a remote prefill's token, the decoder's first). */
    private final java.util.ArrayDeque<Object> preface = new java.util.ArrayDeque<>();

    private String prefillWorkerId;
    private int kvTransferredTokens;
    private final Set<String> failed = new HashSet<>();
    private final List<Integer> generated = new ArrayList<>();
    private LinkedBlockingQueue<Object> deltas;
    private volatile EngineException failure;
    private Generation generation;
    private String workerId;
    private String dispatchId;
    private int maxTokens;
    private int cachedPromptTokens = -1;
    /** Completion tokens an engine reported in its final usage; counted only for engines that send no ids. */
    private int reportedCompletionTokens;

    private int reportedPromptTokens;
    /** Whether any output was handed out (a text prompt is retried before its first output, never continued). */
    private boolean emitted;
    /** The output was cut (a stop string): later tokens are not the client's. */
    private boolean stopped;

    private int migrations;
    private boolean awaitingFirstToken = true;

    Dispatcher(
            String requestId,
            PromptInput input,
            GenerationSpec spec,
            Router router,
            WorkerPool pool,
            Duration timeout,
            int migrationLimit,
            Disaggregation disaggregation,
            io.prometheus.metrics.core.metrics.Counter migrationsCounter) {
        this.requestId = requestId;
        this.prompt = input.ids();
        this.text = input.text();
        this.spec = spec;
        this.router = router;
        this.pool = pool;
        this.timeout = timeout;
        this.migrationLimit = migrationLimit;
        this.disaggregation = disaggregation;
        this.migrationsCounter = migrationsCounter;
    }

    private final io.prometheus.metrics.core.metrics.Counter migrationsCounter;

    /** The worker serving (decoding) the request now, or null before it is dispatched. */
    String workerId() {
        return workerId;
    }

    /** The worker that prefilled the prompt for the decoder, or null when the decoder did. */
    String prefillWorkerId() {
        return prefillWorkerId;
    }

    /** Prompt tokens whose KV the decoder received from another worker instead of computing it. */
    int kvTransferredTokens() {
        return kvTransferredTokens;
    }

    /** Dispatches with a budget of {@code maxTokens}; returns the instance id of the worker that serves it. */
    String start(int maxTokens) {
        this.maxTokens = maxTokens;
        return dispatch();
    }

    /** Sends prompt + tokens generated so far to a worker not known to have failed; returns its id. */
    private String dispatch() {
        int[] sequence = sequenceSoFar();
        int done = generated.size();
        StopConditions stop = new StopConditions(
                maxTokens - done,
                spec.stopTokenIds(),
                spec.ignoreEos(),
                Math.min(Math.max(0, spec.minTokens() - done), maxTokens - done));
        dispatchId = migrations == 0 && failed.isEmpty() ? requestId : requestId + "-" + (failed.size() + migrations);
        GenerateRequest request =
                new GenerateRequest(dispatchId, sequence, spec.sampling(), stop, spec.cacheSalt(), text);
        long[] hashes = BlockHasher.forSalt(spec.cacheSalt()).sequenceHashes(sequence, pool.blockSize());
        RoutingRequest routing = new RoutingRequest(dispatchId, sequence.length, hashes, pool.blockSize());
        RemotePrefill.Result prefilled = null;
        while (true) {
            List<String> ids = new ArrayList<>();
            List<WorkerPool.Worker> live = pool.workersFor(spec.model());
            for (var w : live) {
                // Prefill-only workers never decode; the other roles (aggregated, decode) do.
                if (!failed.contains(w.id()) && !w.card().getRole().equals("prefill")) {
                    ids.add(w.id());
                }
            }
            if (ids.isEmpty()) {
                throw new EngineException(
                        EngineException.Kind.UNAVAILABLE, "No worker is available for model '" + spec.model() + "'");
            }
            Router.Decision d = router.route(routing, ids);
            var worker = pool.worker(d.workerId());
            LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
            try {
                if (worker.isEmpty()) {
                    throw new EngineException(EngineException.Kind.UNAVAILABLE, "worker left");
                }
                GenerateRequest toSend = request;
                boolean fresh = text == null && generated.isEmpty() && migrations == 0 && maxTokens > 1;
                if (fresh && prefilled == null && worker.get().card().getKvTransfer()) {
                    prefilled = prefillElsewhere(sequence, hashes, request, d, live);
                    if (prefilled != null && prefilled.finish() != null) {
                        // The prefill's token ended the request: there is nothing to decode.
                        router.finish(dispatchId);
                        preface.add(TokenDelta.finished(
                                prefilled.first().tokenIds(),
                                prefilled.finish(),
                                prefilled.first().usage()));
                        deltas = new LinkedBlockingQueue<>();
                        generation = NO_GENERATION;
                        workerId = prefilled.workerId();
                        prefillWorkerId = null;
                        return workerId;
                    }
                }
                if (prefilled != null) {
                    toSend = continuation(request, prefilled);
                }
                generation = worker.get().client().generate(toSend, listener(queue));
                deltas = queue;
                workerId = d.workerId();
                if (prefilled != null) {
                    awaitKv(prefilled);
                }
                return workerId;
            } catch (EngineException e) {
                router.finish(dispatchId);
                switch (e.kind()) {
                    case UNAVAILABLE -> {
                        failed.add(d.workerId());
                        pool.markDown(d.workerId());
                    }
                    case INVALID_REQUEST, OVERLOADED, INTERNAL -> throw e;
                }
            }
        }
    }

    private RemotePrefill.Result prefillElsewhere(
            int[] sequence, long[] hashes, GenerateRequest request, Router.Decision d, List<WorkerPool.Worker> live) {
        try {
            return RemotePrefill.maybe(
                    dispatchId, sequence, hashes, request, d, live, failed, router, pool, disaggregation, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "interrupted while prefilling");
        }
    }

    /** The decoder's request: the prompt plus the prefill's token, with the parameters to pull the prompt's KV. */
    private GenerateRequest continuation(GenerateRequest request, RemotePrefill.Result p) {
        int[] seq = Arrays.copyOf(request.promptTokens(), request.promptLength() + 1);
        seq[request.promptLength()] = p.first().tokenIds()[0];
        StopConditions s = request.stop();
        prefillWorkerId = p.workerId();
        preface.clear();
        preface.add(p.first());
        return new GenerateRequest(
                request.requestId(),
                seq,
                request.sampling(),
                new StopConditions(s.maxTokens() - 1, s.stopTokenIds(), s.ignoreEos(), Math.max(0, s.minTokens() - 1)),
                request.cacheSalt(),
                null,
                p.kvTransferParams());
    }

    /**
     * Waits for the decoder's first item: it says how much of the prompt's KV arrived (the response headers name
     * it) before any token. Cached tokens are the larger of the prefill worker's and the decoder's own cache.
     */
    private void awaitKv(RemotePrefill.Result p) {
        Object first;
        try {
            first = deltas.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            generation.cancel();
            throw new EngineException(
                    EngineException.Kind.UNAVAILABLE, "interrupted while the decoder loaded the prompt's KV");
        }
        if (first == null) {
            generation.cancel();
            throw new EngineException(
                    EngineException.Kind.UNAVAILABLE,
                    "No answer from the decode worker within " + timeout.toMillis() + " ms; the request was cancelled");
        }
        int prefillCached = p.first().usage() == null ? 0 : p.first().usage().cachedPromptTokens();
        if (first instanceof TokenDelta d && d.usage() != null) {
            kvTransferredTokens = d.usage().kvTransferredTokens();
            cachedPromptTokens =
                    Math.min(prompt.length, Math.max(prefillCached, d.usage().cachedPromptTokens()));
        } else {
            cachedPromptTokens = prefillCached;
        }
        preface.add(first);
    }

    private static final Generation NO_GENERATION = new Generation() {
        @Override
        public String requestId() {
            return "";
        }

        @Override
        public void cancel() {}
    };

    private int[] sequenceSoFar() {
        int[] s = Arrays.copyOf(prompt, prompt.length + generated.size());
        for (int i = 0; i < generated.size(); i++) {
            s[prompt.length + i] = generated.get(i);
        }
        return s;
    }

    private TokenListener listener(LinkedBlockingQueue<Object> queue) {
        return new TokenListener() {
            @Override
            public void onDelta(TokenDelta delta) {
                queue.add(delta);
            }

            @Override
            public void onError(EngineException error) {
                failure = error;
                queue.add(ERROR);
            }
        };
    }

    /**
     * The next delta of the stream (a final one ends it), migrating a broken stream to another worker.
     *
     * @throws EngineException the request failed, or no delta came within the timeout (the request is cancelled)
     */
    TokenDelta next() throws InterruptedException {
        while (true) {
            // The timeout bounds the wait for the next delta (as FrontendConfig documents), not the whole
            // generation: a long answer that keeps streaming is never cut off by it.
            Object item =
                    preface.isEmpty() ? deltas.poll(timeout.toNanos(), TimeUnit.NANOSECONDS) : preface.pollFirst();
            if (item == null) {
                generation.cancel();
                throw new EngineException(
                        EngineException.Kind.UNAVAILABLE,
                        "No token arrived within " + timeout.toMillis() + " ms; the request was cancelled");
            }
            if (item == ERROR) {
                if (stopped) {
                    return TokenDelta.finished(new int[0], FinishReason.STOP, usage());
                }
                boolean continuable = text == null || (generated.isEmpty() && !emitted);
                if (failure.kind() == EngineException.Kind.UNAVAILABLE && migrations < migrationLimit && continuable) {
                    migrate();
                    continue;
                }
                throw failure;
            }
            TokenDelta d = (TokenDelta) item;
            if (d.usage() != null && cachedPromptTokens < 0) {
                int promptTokens = text == null ? prompt.length : d.usage().promptTokens();
                cachedPromptTokens = Math.min(d.usage().cachedPromptTokens(), promptTokens);
            }
            if (d.isFinal() && d.usage() != null) {
                reportedCompletionTokens = d.usage().completionTokens();
                reportedPromptTokens = d.usage().promptTokens();
            }
            if (awaitingFirstToken && d.tokenIds().length > 0) {
                router.firstToken(dispatchId);
                awaitingFirstToken = false;
            }
            if (!stopped) {
                for (int id : d.tokenIds()) {
                    generated.add(id);
                }
                emitted |= d.tokenIds().length > 0
                        || (d.text() != null && !d.text().isEmpty());
            }
            return d;
        }
    }

    /** The client's output ended early (a stop string): the request is cancelled, later tokens are not counted. */
    void stop() {
        stopped = true;
        generation.cancel(); // the final (cancelled) delta or the broken stream ends it
    }

    /** Cancels the request (the client went away, or the caller failed). */
    void cancel() {
        if (generation != null) {
            generation.cancel();
        }
    }

    /** Releases the router's record of the request; called once, however it ended. */
    void finish() {
        router.finish(dispatchId);
    }

    /** The worker broke the stream: continue the same sequence on another worker. */
    private void migrate() {
        migrations++;
        migrationsCounter.inc();
        router.finish(dispatchId);
        failed.add(workerId);
        pool.markDown(workerId);
        if (generated.size() >= maxTokens) {
            deltas = new LinkedBlockingQueue<>();
            deltas.add(TokenDelta.finished(new int[0], FinishReason.LENGTH, usage()));
            return;
        }
        System.getLogger(Dispatcher.class.getName())
                .log(
                        System.Logger.Level.WARNING,
                        "request {0}: worker {1} failed after {2} tokens ({3}); migrating",
                        requestId,
                        workerId,
                        generated.size(),
                        failure.getMessage());
        dispatch();
        awaitingFirstToken = true;
    }

    /** The client's usage: the original prompt, its cached part on the first worker, every completion token. */
    Usage usage() {
        // An engine that streams text without ids (an upstream without return_token_ids) counts its own tokens.
        int completion = generated.isEmpty() ? reportedCompletionTokens : generated.size();
        int promptTokens = text == null ? prompt.length : reportedPromptTokens;
        return new Usage(promptTokens, Math.max(0, cachedPromptTokens), completion);
    }
}
