package dev.tandem.adapters.openai;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TextPrompt;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible server as a Tandem engine. Token-id prompts go to the upstream's {@code /v1/completions} with
 * {@code return_token_ids} (vLLM), streamed; the ids and the upstream's text come back as deltas. The upstream keeps
 * its own KV cache and publishes no events here, so this engine's load is what it put on the upstream itself
 * (requests and prompt tokens in flight), known the moment a request is sent rather than a poll period later.
 * Thread-safe: each request streams on its own virtual thread.
 */
public final class OpenAiEngine implements Engine {

    private final EngineConfig config;
    private final UpstreamClient client;
    private final EngineInfo info;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicLong pendingPromptTokens = new AtomicLong();
    private final UpstreamMetrics metrics;

    /**
     * Connects to the upstream at {@code upstream} (a base URL ending in {@code /v1}) and serves its model
     * {@code model} (null: its first); used by the adapters that launch their upstream themselves.
     */
    public static OpenAiEngine connect(
            EngineConfig config, String upstream, String model, String tokenizer, EngineCapabilities capabilities) {
        UpstreamClient client = new UpstreamClient(upstream, null, OpenAiEngineProvider.READ_TIMEOUT);
        try {
            return new OpenAiEngine(config, client, client.model(model), tokenizer, capabilities);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /**
     * What an OpenAI-compatible upstream offers through this adapter: token ids (vLLM's return_token_ids; an
     * upstream without them gives text only), seeded sampling and cached-token usage as the upstream implements
     * them; no KV events or cache dump of its own, no logprobs pass-through yet, and its admission limit is its own.
     */
    static final EngineCapabilities CAPABILITIES =
            new EngineCapabilities(true, false, false, false, true, false, true, false);

    OpenAiEngine(EngineConfig config, UpstreamClient client, UpstreamClient.Model model, String tokenizer) {
        this(config, client, model, tokenizer, CAPABILITIES);
    }

    OpenAiEngine(
            EngineConfig config,
            UpstreamClient client,
            UpstreamClient.Model model,
            String tokenizer,
            EngineCapabilities capabilities) {
        this.config = config;
        this.client = client;
        this.metrics = new UpstreamMetrics(client.base());
        this.metrics.start();
        int context = model.maxModelLen() > 0 ? model.maxModelLen() : Integer.MAX_VALUE / 2;
        // vocabulary unknown: the upstream validates ids; no EOS ids either, the upstream stops by itself
        this.info = new EngineInfo(
                model.id(),
                config.blockSize(),
                context,
                config.kvBlocks(),
                Integer.MAX_VALUE,
                Set.of(),
                tokenizer,
                0,
                capabilities);
    }

    @Override
    public EngineInfo info() {
        return info;
    }

    @Override
    public Generation generate(GenerateRequest request, TokenListener listener) {
        if (request.sampling().wantsLogprobs()) {
            throw new EngineException(
                    EngineException.Kind.INVALID_REQUEST, "logprobs are not passed through the openai adapter yet");
        }
        ObjectNode body = body(request);
        running.incrementAndGet();
        pendingPromptTokens.addAndGet(request.promptLength());
        UpstreamStream stream = new UpstreamStream(
                client.completion(
                        body,
                        request.textPrompt() != null && request.textPrompt().isChat()),
                request.promptLength(),
                listener,
                () -> {
                    running.decrementAndGet();
                    pendingPromptTokens.addAndGet(-request.promptLength());
                });
        Thread.ofVirtual().name("openai-" + request.requestId()).start(stream);
        return new Generation() {
            @Override
            public String requestId() {
                return request.requestId();
            }

            @Override
            public void cancel() {
                stream.cancel();
            }
        };
    }

    private ObjectNode body(GenerateRequest r) {
        ObjectNode b = UpstreamClient.JSON.createObjectNode();
        b.put("model", info.modelName());
        TextPrompt text = r.textPrompt();
        if (text != null && text.isChat()) {
            ArrayNode messages = b.putArray("messages"); // rendered by the upstream's own chat template
            text.messages()
                    .forEach(m -> messages.addObject().put("role", m.role()).put("content", m.content()));
        } else if (text != null) {
            b.put("prompt", text.text());
        } else {
            ArrayNode prompt = b.putArray("prompt");
            for (int t : r.promptTokens()) {
                prompt.add(t);
            }
        }
        StopConditions stop = r.stop();
        if (text == null || stop.maxTokens() < info.contextLength()) {
            // A text prompt's length is the upstream's to know: without a budget of the client's, it decides.
            b.put("max_tokens", stop.maxTokens());
        }
        if (stop.minTokens() > 0) {
            b.put("min_tokens", stop.minTokens());
        }
        if (stop.ignoreEos()) {
            b.put("ignore_eos", true);
        }
        if (!stop.stopTokenIds().isEmpty()) {
            ArrayNode ids = b.putArray("stop_token_ids");
            stop.stopTokenIds().forEach(ids::add);
        }
        SamplingParams s = r.sampling();
        b.put("temperature", s.temperature());
        b.put("top_p", s.topP());
        if (s.topK() > 0) {
            b.put("top_k", s.topK());
        }
        if (s.minP() > 0) {
            b.put("min_p", s.minP());
        }
        if (s.seed() != null) {
            b.put("seed", s.seed());
        }
        if (s.repetitionPenalty() != 1.0) {
            b.put("repetition_penalty", s.repetitionPenalty());
        }
        if (s.presencePenalty() != 0) {
            b.put("presence_penalty", s.presencePenalty());
        }
        if (s.frequencyPenalty() != 0) {
            b.put("frequency_penalty", s.frequencyPenalty());
        }
        if (r.cacheSalt() != null) {
            b.put("cache_salt", r.cacheSalt());
        }
        if (info.capabilities().tokenIdsOut()) {
            b.put("return_token_ids", true); // vLLM's extension; upstreams that refuse unknown fields do without
        }
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        return b;
    }

    /**
     * The adapter's own requests and prompt tokens in flight (known the moment a request is sent), raised to what the
     * upstream's {@code /metrics} last said when it serves them (other clients of the same upstream count too), with
     * its KV-cache usage as blocks of this worker's capacity.
     */
    @Override
    public LoadSnapshot load() {
        UpstreamMetrics.Reading m = metrics.last();
        int own = running.get();
        int runningNow = m.known() ? Math.max(own, (int) Math.round(m.running())) : own;
        int waiting = m.known() ? (int) Math.round(m.waiting()) : 0;
        int blocks = m.known() ? (int) Math.round(m.cacheUsage() * config.kvBlocks()) : 0;
        return new LoadSnapshot(
                config.workerId(),
                runningNow,
                waiting,
                blocks,
                config.kvBlocks(),
                pendingPromptTokens.get(),
                System.nanoTime(),
                Math.round(m.prefixQueries()),
                Math.round(m.prefixHits()),
                Math.round(m.preemptions()));
    }

    /** The upstream's cache is its own: nothing is known here (no KV events from a plain OpenAI server). */
    @Override
    public KvStateDump dumpKvState() {
        return new KvStateDump(config.workerId(), 0, new long[0]);
    }

    @Override
    public void close() {
        metrics.close();
        client.close();
    }
}
