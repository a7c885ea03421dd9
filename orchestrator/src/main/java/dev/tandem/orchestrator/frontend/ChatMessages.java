package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/** The {@code messages} field: an array of {role, content}, content a string or an array of text parts. */
final class ChatMessages {

    private ChatMessages() {}

    static List<ChatMessage> parse(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) {
            throw ApiException.invalid("'messages' is required", "messages");
        }
        if (!messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid("'messages' must be a non-empty array of messages", "messages");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.invalid("'" + where + "' must be an object", where);
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.invalid("'" + where + ".role' must be a string", where + ".role");
            }
            out.add(new ChatMessage(role.asText(), content(m.get("content"), where + ".content")));
        }
        return out;
    }

    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                JsonNode type = part.get("type");
                JsonNode text = part.get("text");
                if (type == null || !"text".equals(type.asText()) || text == null || !text.isTextual()) {
                    throw ApiException.invalid("'" + where + "' supports only text parts", where);
                }
                sb.append(text.asText());
            }
            return sb.toString();
        }
        throw ApiException.invalid("'" + where + "' must be a string or an array of text parts", where);
    }
}
