package dev.tandem.orchestrator.preprocess;

import dev.tandem.api.tokenizer.ChatMessage;
import dev.tandem.api.tokenizer.ChatTemplate;
import dev.tandem.api.tokenizer.Tokenizer;
import java.util.List;

/**
 * What the frontend knows of one served model to prepare its requests: the tokenizer and the chat template.
 *
 * @param name the model name clients use
 * @param tokenizer text to ids and back; null when the model serves token-id prompts only
 * @param template chat conversations to prompt text; null when there is none
 * @param addBos whether prompts start with the tokenizer's BOS id
 */
public record ModelFrontend(String name, Tokenizer tokenizer, ChatTemplate template, boolean addBos) {

    public boolean hasTokenizer() {
        return tokenizer != null;
    }

    /** The ids of a text prompt, with BOS when the model takes one. */
    public int[] encodePrompt(String text) {
        int[] ids = tokenizer.encode(text);
        int bos = tokenizer.bosTokenId();
        if (!addBos || bos < 0) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** The ids of a chat conversation rendered with the template and a generation prompt. */
    public int[] encodeChat(List<ChatMessage> messages) {
        return encodePrompt(template.render(messages, true));
    }
}
