package dev.tandem.orchestrator.preprocess;

import dev.tandem.api.proto.ModelCard;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;

/**
 * Finds how to prepare requests for a model a worker registered. The demo models use the byte-level tokenizer and
 * the demo chat template; a model whose tokenizer the frontend cannot load serves token-id prompts only.
 */
public final class ModelResolver {

    public ModelFrontend resolve(ModelCard card) {
        if (card.getVocabSize() == ByteLevelTokenizer.VOCAB_SIZE) {
            return new ModelFrontend(card.getModel(), ByteLevelTokenizer.INSTANCE, new DemoChatTemplate(), true);
        }
        return new ModelFrontend(card.getModel(), null, null, false);
    }
}
