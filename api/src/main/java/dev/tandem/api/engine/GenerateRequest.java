package dev.tandem.api.engine;

import java.util.Objects;

/**
 * One generation request as an engine sees it: token ids in, token deltas out.
 *
 * <p>The prompt array is owned by the request once constructed: callers must not mutate it afterwards (it is not
 * copied, because prompts reach hundreds of thousands of tokens and pass through several layers).
 *
 * @param requestId unique among the requests in flight on one engine
 * @param promptTokens the prompt, including any BOS the model expects
 * @param sampling how tokens are chosen
 * @param stop when generation ends
 * @param cacheSalt null or a salt that isolates this request's prefix-cache entries (DESIGN §4)
 * @param textPrompt null, or a prompt the engine renders and tokenizes itself (then {@code promptTokens} is empty);
 *     engines that need token ids refuse it
 * @param kvTransferParams null, or the engine's opaque KV-transfer parameters as a JSON object (vLLM's
 *     {@code kv_transfer_params}, Dynamo's {@code disaggregated_params}): {@code {"do_remote_decode": true}} asks a
 *     prefill worker to keep the prompt's KV for another worker; the parameters a prefill returned tell a decode
 *     worker where to pull it from. Callers pass them through without reading them.
 */
public record GenerateRequest(
        String requestId,
        int[] promptTokens,
        SamplingParams sampling,
        StopConditions stop,
        String cacheSalt,
        TextPrompt textPrompt,
        String kvTransferParams) {

    public GenerateRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(stop, "stop");
        if (promptTokens.length == 0 && textPrompt == null) {
            throw new EngineException(EngineException.Kind.INVALID_REQUEST, "the prompt must not be empty");
        }
    }

    public GenerateRequest(
            String requestId,
            int[] promptTokens,
            SamplingParams sampling,
            StopConditions stop,
            String cacheSalt,
            TextPrompt textPrompt) {
        this(requestId, promptTokens, sampling, stop, cacheSalt, textPrompt, null);
    }

    public GenerateRequest(
            String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop, String cacheSalt) {
        this(requestId, promptTokens, sampling, stop, cacheSalt, null, null);
    }

    /** This request with {@code params} as its KV-transfer parameters. */
    public GenerateRequest withKvTransferParams(String params) {
        return new GenerateRequest(requestId, promptTokens, sampling, stop, cacheSalt, textPrompt, params);
    }

    public GenerateRequest(String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop) {
        this(requestId, promptTokens, sampling, stop, null, null, null);
    }

    public int promptLength() {
        return promptTokens.length;
    }
}
