package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;

/**
 * OpenAI and vLLM request fields that change what a model must produce (tools, structured output, logit biases,
 * guided decoding). An engine that cannot honour one must refuse the request, naming the field, rather than answer
 * as if it had: a client asking for JSON and getting prose learns nothing until its parser fails. Absent, null and
 * empty values are fine, as are the values that ask for the default behaviour.
 */
final class UnsupportedFields {

    private static final List<String> FIELDS = List.of(
            "tools",
            "tool_choice",
            "functions",
            "function_call",
            "response_format",
            "logit_bias",
            "guided_json",
            "guided_regex",
            "guided_choice",
            "guided_grammar",
            "structured_outputs");

    /** Values equivalent to the field being absent. */
    private static final Set<String> DEFAULT_CHOICES = Set.of("none", "auto");

    private UnsupportedFields() {}

    /** Throws a 400 naming the first field in {@code body} that asks for more than {@code honoured} covers. */
    static void refuse(JsonNode body, Set<String> honoured) {
        for (String name : FIELDS) {
            JsonNode v = body.get(name);
            if (v == null || honoured.contains(name) || isDefault(name, v)) {
                continue;
            }
            throw ApiException.invalid(
                    "'" + name + "' is not supported by the engine serving this model; remove it or send null", name);
        }
    }

    private static boolean isDefault(String name, JsonNode v) {
        if (v.isNull()
                || (v.isContainerNode() && v.isEmpty())
                || (v.isTextual() && v.asText().isEmpty())) {
            return true;
        }
        if ((name.equals("tool_choice") || name.equals("function_call")) && v.isTextual()) {
            return DEFAULT_CHOICES.contains(v.asText());
        }
        return name.equals("response_format")
                && v.isObject()
                && v.size() == 1
                && v.path("type").asText().equals("text");
    }
}
