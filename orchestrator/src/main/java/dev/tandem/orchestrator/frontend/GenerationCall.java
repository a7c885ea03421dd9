package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.time.Duration;

/**
 * One prompt's trip through the cluster: the API's checks of its budget, then a {@link Dispatcher} (route, remote
 * prefill, dispatch, migration; the worker side) feeding a {@link Postprocessor} (detokenizing and stop strings; the
 * client side) until the request ends.
 *
 * <p>Used by one virtual thread: {@link #start} then {@link #await}.
 */
final class GenerationCall {

    private final int[] prompt;
    /** Whether the prompt is text the engine tokenizes itself (its length is then unknown here). */
    private final boolean textPrompt;

    private final GenerationSpec spec;
    private final int contextLength;
    private final Dispatcher dispatcher;
    private final Postprocessor postprocessor;
    private final dev.tandem.orchestrator.metrics.TandemMetrics metrics;
    private final StatusBoard status;
    /** When the request arrived (the call is made on arrival), and when its last output left. */
    private final long arrivedNanos = System.nanoTime();

    private long lastOutputNanos;

    GenerationCall(
            String requestId,
            PromptInput input,
            GenerationSpec spec,
            Tokenizer tokenizer,
            boolean engineText,
            int contextLength,
            Router router,
            WorkerPool pool,
            Duration timeout,
            int migrationLimit,
            Disaggregation disaggregation,
            dev.tandem.orchestrator.metrics.TandemMetrics metrics,
            StatusBoard status) {
        this.prompt = input.ids();
        this.textPrompt = input.text() != null;
        this.spec = spec;
        this.contextLength = contextLength;
        this.metrics = metrics;
        this.status = status;
        this.dispatcher = new Dispatcher(
                requestId, input, spec, router, pool, timeout, migrationLimit, disaggregation, metrics.migrations);
        this.postprocessor = new Postprocessor(tokenizer, engineText, spec.stop());
    }

    /** The worker that prefilled the prompt for the decoder, or null when the decoder did. */
    String prefillWorkerId() {
        return dispatcher.prefillWorkerId();
    }

    /** Prompt tokens whose KV the decoder received from another worker instead of computing it. */
    int kvTransferredTokens() {
        return dispatcher.kvTransferredTokens();
    }

    /** Checks the budget, routes and dispatches; returns the instance id of the worker that serves the request. */
    String start() {
        if (textPrompt) {
            // The prompt's length is the engine's to know: it refuses a budget that does not fit beside it. One
            // that does not fit beside even a one-token prompt is refused here; none at all leaves the engine to
            // use the room left (the engine omits a budget as large as the context).
            if (spec.maxTokens() != null && spec.maxTokens() >= contextLength) {
                throw ApiException.invalid(
                        "This model's maximum context length is " + contextLength + " tokens. However, you requested"
                                + " " + spec.maxTokens() + " tokens in the completion alone. Please reduce the length"
                                + " of the messages or completion.",
                        "max_tokens");
            }
            return dispatcher.start(spec.maxTokens() == null ? contextLength : spec.maxTokens());
        }
        if (prompt.length >= contextLength) {
            throw ApiException.invalid(
                    "The prompt has " + prompt.length + " tokens but the model's context is " + contextLength
                            + " tokens, including at least one to generate",
                    "prompt");
        }
        int room = contextLength - prompt.length;
        if (spec.maxTokens() != null && spec.maxTokens() > room) {
            // vLLM's answer, word for word where clients parse it: a budget that cannot fit is refused, not cut.
            throw ApiException.invalid(
                    "This model's maximum context length is " + contextLength + " tokens. However, you requested "
                            + ((long) prompt.length + spec.maxTokens()) + " tokens (" + prompt.length
                            + " in the messages, " + spec.maxTokens() + " in the completion). Please reduce the"
                            + " length of the messages or completion.",
                    "max_tokens");
        }
        return dispatcher.start(spec.maxTokens() == null ? room : spec.maxTokens());
    }

    /** Streams the output to {@code observer} until the request finishes; cancels it if the observer throws. */
    void await(GenerationObserver observer) throws InterruptedException {
        try {
            while (true) {
                TokenDelta d = dispatcher.next();
                if (!postprocessor.stopped()) {
                    String out = postprocessor.add(d);
                    if (!out.isEmpty() || d.tokenIds().length > 0) {
                        long now = System.nanoTime();
                        if (lastOutputNanos == 0) {
                            metrics.timeToFirstToken.observe((now - arrivedNanos) / 1e9);
                        } else {
                            metrics.interTokenLatency.observe((now - lastOutputNanos) / 1e9);
                        }
                        lastOutputNanos = now;
                        observer.onText(out, d.tokenIds(), d.logprobs());
                    }
                    if (postprocessor.stopped() && !d.isFinal()) {
                        dispatcher.stop();
                    }
                }
                if (d.isFinal()) {
                    var usage = dispatcher.usage();
                    metrics.inputTokens.inc(usage.promptTokens());
                    metrics.outputTokens.inc(usage.completionTokens());
                    metrics.cachedTokens.inc(usage.cachedPromptTokens());
                    if (dispatcher.workerId() != null) {
                        status.served(dispatcher.workerId(), usage.promptTokens(), usage.cachedPromptTokens());
                    }
                    observer.onFinish(postprocessor.stopped() ? FinishReason.STOP : d.finishReason(), usage);
                    return;
                }
            }
        } catch (RuntimeException | InterruptedException e) {
            dispatcher.cancel();
            throw e;
        } finally {
            dispatcher.finish();
        }
    }
}
