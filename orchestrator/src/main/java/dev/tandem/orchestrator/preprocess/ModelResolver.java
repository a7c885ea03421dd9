package dev.tandem.orchestrator.preprocess;

import dev.tandem.api.proto.ModelCard;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import dev.tandem.api.tokenizer.TokenizerProvider;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds how to prepare requests for a model a worker registered. The demo models use the byte-level tokenizer and
 * the demo chat template; other models use the tokenizer and chat template found from the card's source through
 * {@link TokenizerProvider}s; a model whose tokenizer cannot be found serves token-id prompts only. Results are
 * cached per model and source. Thread-safe.
 */
public final class ModelResolver {

    private static final System.Logger LOG = System.getLogger(ModelResolver.class.getName());

    private final Map<String, ModelFrontend> cache = new ConcurrentHashMap<>();

    public ModelFrontend resolve(ModelCard card) {
        if (card.getVocabSize() == ByteLevelTokenizer.VOCAB_SIZE
                && card.getSource().isEmpty()) {
            return new ModelFrontend(card.getModel(), ByteLevelTokenizer.INSTANCE, new DemoChatTemplate(), true);
        }
        return cache.computeIfAbsent(card.getModel() + "\u0000" + card.getSource(), k -> load(card));
    }

    private static ModelFrontend load(ModelCard card) {
        if (card.getVocabSize() == ByteLevelTokenizer.VOCAB_SIZE
                && card.getSource().startsWith("random:")) {
            return new ModelFrontend(card.getModel(), ByteLevelTokenizer.INSTANCE, new DemoChatTemplate(), true);
        }
        try {
            Optional<TokenizerProvider.Loaded> t = TokenizerProvider.find(card.getSource());
            if (t.isPresent()) {
                return new ModelFrontend(
                        card.getModel(), t.get().tokenizer(), t.get().template(), true);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "tokenizer of " + card.getModel() + " could not be loaded", e);
        }
        return new ModelFrontend(card.getModel(), null, null, false);
    }
}
