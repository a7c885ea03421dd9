package dev.tandem.adapters.openai;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import java.time.Duration;

/**
 * {@code --engine openai}: any OpenAI-compatible server (vLLM, SGLang, TensorRT-LLM's trtllm-serve, Tandem) as a
 * worker. Options: {@code upstream} (required, the base URL ending in {@code /v1}), {@code model} (default: the
 * upstream's first), {@code api-key}, {@code tokenizer} (the model's tokenizer for the frontend: the card's source). Creating the engine asks the upstream which model it serves and its context
 * length, so a worker registers only once its upstream answers.
 */
public final class OpenAiEngineProvider implements EngineProvider {

    /** Longest silence between two reads of a stream before the upstream counts as dead. */
    static final Duration READ_TIMEOUT = Duration.ofMinutes(5);

    @Override
    public String name() {
        return "openai";
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Engine create(EngineConfig config) {
        OpenAiOptions o = OpenAiOptions.parse(config.options());
        UpstreamClient client = new UpstreamClient(o.upstream(), o.apiKey(), READ_TIMEOUT);
        try {
            return new OpenAiEngine(config, client, client.model(o.model()), o.tokenizer());
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }
}
