package dev.tandem.adapters.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.engine.EngineException;

/**
 * An upstream's error answer, read in either shape upstreams send: older vLLM's flat
 * {@code {"object":"error","message":...}} or OpenAI's nested {@code {"error":{"message":...}}}; anything else is
 * quoted as text. The status decides what Tandem does: a 4xx is the client's mistake (the same answer anywhere), a
 * 429 is overload, and a 5xx is this upstream's failure (another worker may serve the request).
 */
final class UpstreamError {

    private UpstreamError() {}

    static EngineException of(int status, String body) {
        String message = message(body);
        String text = "upstream answered " + status + ": " + message;
        if (status == 429) {
            return new EngineException(EngineException.Kind.OVERLOADED, text);
        }
        if (status >= 400 && status < 500) {
            // The client's mistake: its own words, without our prefix, as the upstream would have said them.
            return new EngineException(EngineException.Kind.INVALID_REQUEST, message);
        }
        return new EngineException(EngineException.Kind.UNAVAILABLE, text);
    }

    static String message(String body) {
        try {
            JsonNode j = UpstreamClient.JSON.readTree(body);
            JsonNode nested = j.path("error");
            if (nested.isObject() && nested.path("message").isTextual()) {
                return nested.get("message").asText();
            }
            if (nested.isTextual()) {
                return nested.asText();
            }
            if (j.path("message").isTextual()) {
                return j.get("message").asText();
            }
        } catch (Exception notJson) {
            // fall through to the raw text
        }
        String t = body == null ? "" : body.strip();
        return t.length() > 300 ? t.substring(0, 300) + "..." : t;
    }
}
