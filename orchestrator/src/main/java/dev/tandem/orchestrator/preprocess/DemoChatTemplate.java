package dev.tandem.orchestrator.preprocess;

import dev.tandem.api.tokenizer.ChatMessage;
import dev.tandem.api.tokenizer.ChatTemplate;
import java.util.List;
import java.util.Set;

/**
 * The demo model's chat template: each message as {@code <|role|>\ncontent\n}, then {@code <|assistant|>\n} when a
 * generation prompt is asked for. Deterministic, so identical conversations give identical tokens (and cache hits).
 */
public final class DemoChatTemplate implements ChatTemplate {

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            if (!ROLES.contains(m.role())) {
                throw new IllegalArgumentException("unsupported message role '" + m.role() + "'");
            }
            sb.append("<|").append(m.role()).append("|>\n").append(m.content()).append('\n');
        }
        if (addGenerationPrompt) {
            sb.append("<|assistant|>\n");
        }
        return sb.toString();
    }
}
