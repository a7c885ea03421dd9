package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.engine.SamplingParams;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The generation fields shared by chat and text completions, validated.
 *
 * @param model requested model name
 * @param sampling sampling parameters
 * @param maxTokens null for "until the context is full"
 * @param minTokens tokens before EOS or stop ids may end generation
 * @param stop stop strings (cut from the output)
 * @param stopTokenIds extra ids that end generation
 * @param ignoreEos keep generating through EOS (vLLM extension)
 * @param stream answer with server-sent events
 * @param includeUsage send a usage chunk before [DONE] when streaming
 * @param returnTokenIds add {@code token_ids} to each choice (vLLM extension)
 * @param cacheSalt isolates this request's prefix-cache entries
 */
record GenerationSpec(
        String model,
        SamplingParams sampling,
        Integer maxTokens,
        int minTokens,
        List<String> stop,
        Set<Integer> stopTokenIds,
        boolean ignoreEos,
        boolean stream,
        boolean includeUsage,
        boolean returnTokenIds,
        String cacheSalt) {

    private static final int MAX_STOP_STRINGS = 16;

    /** The number of top alternatives asked for with each token's log-probability, or -1 for none. */
    private static int logprobs(JsonNode body, boolean chat) {
        if (!Fields.present(body, "logprobs")) {
            if (chat && Fields.present(body, "top_logprobs")) {
                throw ApiException.invalid("'top_logprobs' needs 'logprobs': true", "top_logprobs");
            }
            return -1;
        }
        if (chat) {
            if (!Fields.optBoolean(body, "logprobs", false)) {
                return -1;
            }
            Long top = Fields.optInteger(body, "top_logprobs", 0, 20);
            return top == null ? 0 : top.intValue();
        }
        return Fields.optInteger(body, "logprobs", 0, 20).intValue();
    }

    static GenerationSpec parse(JsonNode body, String maxTokensField) {
        if (!body.isObject()) {
            throw ApiException.invalid("The request body must be a JSON object", null);
        }
        String model = Fields.requireString(body, "model");
        UnsupportedFields.refuse(body, Set.of());
        Long n = Fields.optInteger(body, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) {
            throw ApiException.invalid("Only n=1 is supported", "n");
        }
        Long bestOf = Fields.optInteger(body, "best_of", 1, Integer.MAX_VALUE);
        if (bestOf != null && bestOf != 1) {
            throw ApiException.invalid("Only best_of=1 is supported", "best_of");
        }
        int logprobs = logprobs(body, maxTokensField.equals("max_completion_tokens"));
        Double temperature = Fields.optNumber(body, "temperature", 0, 2);
        Double topP = Fields.optNumber(body, "top_p", Double.MIN_VALUE, 1);
        Long topK = Fields.optInteger(body, "top_k", -1, Integer.MAX_VALUE);
        Double minP = Fields.optNumber(body, "min_p", 0, 1);
        Long seed = Fields.optInteger(body, "seed", Long.MIN_VALUE, Long.MAX_VALUE);
        Double presence = Fields.optNumber(body, "presence_penalty", -2, 2);
        Double frequency = Fields.optNumber(body, "frequency_penalty", -2, 2);
        Double repetition = Fields.optNumber(body, "repetition_penalty", Double.MIN_VALUE, 100);
        SamplingParams sampling = new SamplingParams(
                temperature == null ? 1.0 : temperature,
                topP == null ? 1.0 : topP,
                topK == null || topK < 0 ? 0 : topK.intValue(),
                minP == null ? 0 : minP,
                seed,
                repetition == null ? 1.0 : repetition,
                presence == null ? 0 : presence,
                frequency == null ? 0 : frequency,
                logprobs);

        Long maxTokens = Fields.optInteger(body, maxTokensField, 1, Integer.MAX_VALUE);
        if (maxTokens == null && !maxTokensField.equals("max_tokens")) {
            maxTokens = Fields.optInteger(body, "max_tokens", 1, Integer.MAX_VALUE);
        }
        Long minTokens = Fields.optInteger(body, "min_tokens", 0, Integer.MAX_VALUE);
        if (minTokens != null && maxTokens != null && minTokens > maxTokens) {
            throw ApiException.invalid("'min_tokens' must not exceed '" + maxTokensField + "'", "min_tokens");
        }

        List<String> stop = new ArrayList<>();
        if (Fields.present(body, "stop")) {
            JsonNode s = body.get("stop");
            if (s.isTextual()) {
                stop.add(s.asText());
            } else if (s.isArray()) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) {
                        throw ApiException.invalid("'stop' must be a string or an array of strings", "stop");
                    }
                    stop.add(e.asText());
                }
            } else {
                throw ApiException.invalid("'stop' must be a string or an array of strings", "stop");
            }
            if (stop.size() > MAX_STOP_STRINGS) {
                throw ApiException.invalid("At most " + MAX_STOP_STRINGS + " stop strings are allowed", "stop");
            }
        }
        Set<Integer> stopIds = new HashSet<>();
        if (Fields.present(body, "stop_token_ids")) {
            JsonNode ids = body.get("stop_token_ids");
            if (!ids.isArray()) {
                throw ApiException.invalid("'stop_token_ids' must be an array of integers", "stop_token_ids");
            }
            for (int id : Fields.tokenIds(ids, "stop_token_ids")) {
                stopIds.add(id);
            }
        }
        boolean stream = Fields.optBoolean(body, "stream", false);
        boolean includeUsage = false;
        if (Fields.present(body, "stream_options")) {
            JsonNode so = body.get("stream_options");
            if (!so.isObject()) {
                throw ApiException.invalid("'stream_options' must be an object", "stream_options");
            }
            includeUsage = Fields.optBoolean(so, "include_usage", false);
        }
        return new GenerationSpec(
                model,
                sampling,
                maxTokens == null ? null : maxTokens.intValue(),
                minTokens == null ? 0 : minTokens.intValue(),
                List.copyOf(stop),
                Set.copyOf(stopIds),
                Fields.optBoolean(body, "ignore_eos", false),
                stream,
                includeUsage,
                Fields.optBoolean(body, "return_token_ids", false),
                Fields.optString(body, "cache_salt"));
    }
}
