package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.proto.ModelCard;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import dev.tandem.api.tokenizer.ChatMessage;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.orchestrator.preprocess.ModelFrontend;
import dev.tandem.orchestrator.preprocess.ModelResolver;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Semaphore;

/**
 * The OpenAI API's semantics, independent of the HTTP server: parses and validates requests, prepares prompts,
 * runs them through the router and workers, and renders responses (one JSON body, or SSE chunks through a
 * {@link ResponseChannel}). Thread-safe; each request runs on its own virtual thread.
 */
public final class OpenAiService {

    /** Where a response goes; implemented by the HTTP edge. */
    public interface ResponseChannel {
        /** Sets a header; only before the first body byte. */
        void header(String name, String value);

        /** Sends a complete JSON body with status 200. */
        void json(JsonNode body);

        /** Switches to SSE and returns the event writer. */
        SseWriter startEvents();
    }

    public static final String WORKER_HEADER = "x-tandem-worker-id";
    public static final String PREFILL_WORKER_HEADER = "x-tandem-prefill-worker-id";
    public static final String KV_TRANSFERRED_HEADER = "x-tandem-kv-transferred-tokens";

    private final WorkerPool pool;
    private final Router router;
    private final ModelResolver resolver;
    private final FrontendConfig config;
    private final Semaphore inFlight;
    private final dev.tandem.orchestrator.metrics.TandemMetrics metrics;

    public OpenAiService(WorkerPool pool, Router router, ModelResolver resolver, FrontendConfig config) {
        this.pool = pool;
        this.router = router;
        this.resolver = resolver;
        this.config = config;
        this.inFlight = new Semaphore(config.maxInFlight());
        this.metrics = new dev.tandem.orchestrator.metrics.TandemMetrics(pool::loads);
        String policy = router.policy().name();
        router.observe((worker, nanos, ratio) -> {
            status.routed(worker, ratio);
            metrics.routerDecisions.labelValues(policy, worker).inc();
            metrics.routerDecisionSeconds.observe(nanos / 1e9);
            metrics.routerOverlapRatio.observe(ratio);
        });
    }

    public dev.tandem.orchestrator.metrics.TandemMetrics metrics() {
        return metrics;
    }

    private final StatusBoard status = new StatusBoard();

    /** GET /status.json: the workers and the latest routing decisions, for the status page. */
    public ObjectNode status() {
        return status.json(pool, router.policy().name());
    }

    public FrontendConfig config() {
        return config;
    }

    public WorkerPool pool() {
        return pool;
    }

    /** GET /v1/models. */
    public ObjectNode models() {
        ObjectNode root = Json.object();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (String m : pool.models()) {
            ObjectNode o = data.addObject();
            o.put("id", m);
            o.put("object", "model");
            o.put("created", 0);
            o.put("owned_by", "tandem");
            pool.card(m).ifPresent(c -> o.put("max_model_len", c.getContextLength()));
        }
        return root;
    }

    /** POST /v1/chat/completions. */
    public void chat(JsonNode body, ResponseChannel channel) throws InterruptedException {
        GenerationSpec spec = GenerationSpec.parse(body, "max_completion_tokens");
        List<ChatMessage> messages = ChatMessages.parse(body);
        ModelFrontend model = model(spec.model());
        PromptInput prompt;
        if (!model.hasTokenizer() || model.template() == null) {
            // an external engine's model: its own chat template renders the messages (a built-in engine refuses)
            prompt = PromptInput.text(dev.tandem.api.engine.TextPrompt.chat(messages));
        } else {
            try {
                prompt = PromptInput.ids(model.encodeChat(messages));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid(e.getMessage(), "messages");
            }
        }
        withPermit(() -> new ChatResponder(this, spec, model, prompt).respond(channel));
    }

    /** POST /v1/completions. */
    public void completions(JsonNode body, ResponseChannel channel) throws InterruptedException {
        GenerationSpec spec = GenerationSpec.parse(body, "max_tokens");
        if (Fields.optBoolean(body, "echo", false)) {
            throw ApiException.invalid("'echo' is not supported", "echo");
        }
        if (Fields.present(body, "suffix")) {
            throw ApiException.invalid("'suffix' is not supported", "suffix");
        }
        ModelFrontend model = model(spec.model());
        List<PromptInput> prompts = Prompts.parse(body, model);
        withPermit(() -> new CompletionResponder(this, spec, model, prompts).respond(channel));
    }

    private interface Work {
        void run() throws InterruptedException;
    }

    private void withPermit(Work work) throws InterruptedException {
        if (!inFlight.tryAcquire()) {
            metrics.rejections.labelValues("max_in_flight").inc();
            throw ApiException.overloaded(
                    "The server is at its limit of " + config.maxInFlight() + " requests in flight; retry later");
        }
        try {
            work.run();
        } finally {
            inFlight.release();
        }
    }

    private ModelFrontend model(String name) {
        ModelCard card = pool.card(name).orElseThrow(() -> noWorkerFor(name));
        return resolver.resolve(card);
    }

    /**
     * A model no worker serves now: 404 when none ever did (a wrong name), 503 when its workers are all gone for the
     * moment (restarting, say), which clients retry.
     */
    private ApiException noWorkerFor(String name) {
        return pool.servedBefore(name)
                ? ApiException.unavailable(
                        "No worker serves the model '" + name + "' at the moment; retry in a few seconds")
                : ApiException.modelNotFound(name);
    }

    GenerationCall call(GenerationSpec spec, ModelFrontend model, PromptInput prompt) {
        ModelCard card = pool.card(spec.model()).orElseThrow(() -> noWorkerFor(spec.model()));
        Tokenizer tokenizer = model.hasTokenizer() ? model.tokenizer() : NO_TEXT;
        return new GenerationCall(
                newId(),
                prompt,
                spec,
                tokenizer,
                !model.hasTokenizer(),
                card.getContextLength(),
                router,
                pool,
                config.requestTimeout(),
                config.migrationLimit(),
                config.disaggregation(),
                metrics,
                status);
    }

    /**
     * The routing headers of a started call: the decoding worker, and with disaggregation the prefill worker and how
     * many prompt tokens' KV the decoder received instead of computing.
     */
    static void routingHeaders(ResponseChannel channel, GenerationCall call, String workerId) {
        channel.header(WORKER_HEADER, workerId);
        if (call.prefillWorkerId() != null) {
            channel.header(PREFILL_WORKER_HEADER, call.prefillWorkerId());
        }
        channel.header(KV_TRANSFERRED_HEADER, String.valueOf(call.kvTransferredTokens()));
    }

    static String newId() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    static ObjectNode usage(Usage u) {
        ObjectNode o = Json.object();
        o.put("prompt_tokens", u.promptTokens());
        o.put("completion_tokens", u.completionTokens());
        o.put("total_tokens", u.totalTokens());
        o.putObject("prompt_tokens_details").put("cached_tokens", u.cachedPromptTokens());
        return o;
    }

    static Usage sum(List<Usage> all) {
        int p = 0;
        int c = 0;
        int g = 0;
        for (Usage u : all) {
            p += u.promptTokens();
            c += u.cachedPromptTokens();
            g += u.completionTokens();
        }
        return new Usage(p, c, g);
    }

    static ArrayNode ids(ArrayNode target, List<Integer> ids) {
        ids.forEach(target::add);
        return target;
    }

    static List<Integer> boxed(int[] ids) {
        List<Integer> out = new ArrayList<>(ids.length);
        for (int i : ids) {
            out.add(i);
        }
        return out;
    }

    /** Detokenizes to nothing: the output of models served without a tokenizer is in {@code token_ids}. */
    private static final Tokenizer NO_TEXT = new Tokenizer() {
        @Override
        public int[] encode(String text) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String decode(int[] ids, int from, int to) {
            return "";
        }

        @Override
        public int vocabSize() {
            return ByteLevelTokenizer.VOCAB_SIZE;
        }

        @Override
        public int bosTokenId() {
            return -1;
        }

        @Override
        public java.util.Set<Integer> eosTokenIds() {
            return java.util.Set.of();
        }
    };
}
