package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The frontend's one JSON mapper and the OpenAI error body. */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper();

    static {
        // Bodies are bounded by the HTTP body limit; nesting is bounded here so no body can exhaust the stack.
        MAPPER.getFactory()
                .setStreamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(64)
                        .maxStringLength(64 << 20)
                        .build());
        // A body is one JSON value: '{...} garbage' is refused, not read up to its first value.
        MAPPER.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    private Json() {}

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static JsonNode parse(byte[] body) {
        try {
            JsonNode n = MAPPER.readTree(body);
            if (n == null || n.isMissingNode()) {
                throw ApiException.invalid("The request body is empty; expected a JSON object", null);
            }
            return n;
        } catch (JsonProcessingException e) {
            throw ApiException.invalid("The request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (java.io.IOException e) {
            throw ApiException.invalid("The request body could not be read", null);
        }
    }

    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String text(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code {"error":{"message","type","param","code"}}}. */
    public static ObjectNode error(ApiException e) {
        ObjectNode err = object();
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        ObjectNode root = object();
        root.set("error", err);
        return root;
    }
}
