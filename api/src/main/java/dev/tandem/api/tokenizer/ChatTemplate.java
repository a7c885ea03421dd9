package dev.tandem.api.tokenizer;

import java.util.List;

/** Renders a conversation into the prompt text a model was trained on. */
@FunctionalInterface
public interface ChatTemplate {

    /**
     * @param addGenerationPrompt append the header that starts the assistant's turn
     * @throws IllegalArgumentException when the conversation is not one the template accepts
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);
}
