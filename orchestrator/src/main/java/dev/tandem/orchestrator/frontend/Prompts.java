package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.engine.TextPrompt;
import dev.tandem.orchestrator.preprocess.ModelFrontend;
import java.util.ArrayList;
import java.util.List;

/**
 * The completions {@code prompt}: a string, an array of strings, an array of token ids, or an array of those. Strings
 * are tokenized here when the model's tokenizer is known, else passed to the engine as text.
 */
final class Prompts {

    static final int MAX_PROMPTS = 64;

    private Prompts() {}

    static List<PromptInput> parse(JsonNode body, ModelFrontend model) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.invalid("'prompt' is required", "prompt");
        }
        List<PromptInput> out = new ArrayList<>();
        if (p.isTextual()) {
            out.add(text(p.asText(), model));
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
            out.add(PromptInput.ids(Fields.tokenIds(p, "prompt")));
        } else if (p.isArray() && !p.isEmpty()) {
            for (JsonNode e : p) {
                if (e.isTextual()) {
                    out.add(text(e.asText(), model));
                } else if (e.isArray() && !e.isEmpty()) {
                    out.add(PromptInput.ids(Fields.tokenIds(e, "prompt")));
                } else {
                    throw ApiException.invalid(
                            "'prompt' must be a string, an array of strings, an array of token ids, or an array of"
                                    + " token-id arrays",
                            "prompt");
                }
            }
        } else {
            throw ApiException.invalid("'prompt' must be a non-empty string or array", "prompt");
        }
        if (out.size() > MAX_PROMPTS) {
            throw ApiException.invalid("At most " + MAX_PROMPTS + " prompts per request", "prompt");
        }
        for (PromptInput in : out) {
            if (in.text() == null ? in.ids().length == 0 : in.text().text().isEmpty()) {
                throw ApiException.invalid("A prompt must not be empty", "prompt");
            }
        }
        return out;
    }

    private static PromptInput text(String s, ModelFrontend model) {
        if (!model.hasTokenizer()) {
            // an external engine's model: the engine tokenizes (a built-in engine refuses, asking for token ids)
            return PromptInput.text(TextPrompt.completion(s));
        }
        return PromptInput.ids(model.encodePrompt(s));
    }
}
