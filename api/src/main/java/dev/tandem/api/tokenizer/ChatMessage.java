package dev.tandem.api.tokenizer;

import java.util.Objects;

/** One message of a chat conversation, after validation: a role and its text content. */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
