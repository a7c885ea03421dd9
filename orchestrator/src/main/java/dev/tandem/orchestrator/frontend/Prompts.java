package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.preprocess.ModelFrontend;
import java.util.ArrayList;
import java.util.List;

/** The completions {@code prompt}: a string, an array of strings, an array of token ids, or an array of those. */
final class Prompts {

    static final int MAX_PROMPTS = 64;

    private Prompts() {}

    static List<int[]> parse(JsonNode body, ModelFrontend model) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.invalid("'prompt' is required", "prompt");
        }
        List<int[]> out = new ArrayList<>();
        if (p.isTextual()) {
            out.add(text(p.asText(), model));
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
            out.add(Fields.tokenIds(p, "prompt"));
        } else if (p.isArray() && !p.isEmpty()) {
            for (JsonNode e : p) {
                if (e.isTextual()) {
                    out.add(text(e.asText(), model));
                } else if (e.isArray() && !e.isEmpty()) {
                    out.add(Fields.tokenIds(e, "prompt"));
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
        for (int[] ids : out) {
            if (ids.length == 0) {
                throw ApiException.invalid("A prompt must not be empty", "prompt");
            }
        }
        return out;
    }

    private static int[] text(String s, ModelFrontend model) {
        if (!model.hasTokenizer()) {
            throw ApiException.invalid(
                    "Model '" + model.name() + "' has no tokenizer here: send the prompt as token ids", "prompt");
        }
        return model.encodePrompt(s);
    }
}
