package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.TextPrompt;

/**
 * One prompt as the frontend hands it to a worker: token ids it tokenized (or the client sent), or, for a model it
 * has no tokenizer or chat template for (an external engine's), the text or messages for the engine to render.
 *
 * @param ids the prompt's token ids; empty when {@code text} is set
 * @param text null, or the prompt the engine tokenizes itself
 */
record PromptInput(int[] ids, TextPrompt text) {

    private static final int[] NONE = new int[0];

    static PromptInput ids(int[] ids) {
        return new PromptInput(ids, null);
    }

    static PromptInput text(TextPrompt text) {
        return new PromptInput(NONE, text);
    }
}
