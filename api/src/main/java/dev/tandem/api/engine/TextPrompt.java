package dev.tandem.api.engine;

import dev.tandem.api.tokenizer.ChatMessage;
import java.util.List;
import java.util.Objects;

/**
 * A prompt the engine renders and tokenizes itself: a completion text, or chat messages under the engine's own chat
 * template. Sent when the frontend has no tokenizer for an external engine's model, so that any OpenAI-compatible
 * server can be fronted without one; the request's token ids are then empty, routing cannot use prefix blocks, and a
 * stream that broke after its first output cannot be continued elsewhere.
 *
 * @param text the completion prompt, or null for a chat
 * @param messages the chat messages, or null for a completion
 */
public record TextPrompt(String text, List<ChatMessage> messages) {

    public TextPrompt {
        if ((text == null) == (messages == null)) {
            throw new IllegalArgumentException("a text prompt is either a completion text or chat messages");
        }
        messages = messages == null ? null : List.copyOf(messages);
    }

    public static TextPrompt completion(String text) {
        return new TextPrompt(Objects.requireNonNull(text, "text"), null);
    }

    public static TextPrompt chat(List<ChatMessage> messages) {
        return new TextPrompt(null, Objects.requireNonNull(messages, "messages"));
    }

    public boolean isChat() {
        return messages != null;
    }
}
