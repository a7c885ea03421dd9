package dev.tandem.api.tokenizer;

import java.io.IOException;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Finds the tokenizer (and chat template) of a model from the reference its workers loaded (a path or a hub
 * name); a ServiceLoader SPI, so frontends need no compile-time tie to the code that parses tokenizer files.
 */
public interface TokenizerProvider {

    /** What a frontend needs to prepare requests for a model. */
    record Loaded(Tokenizer tokenizer, ChatTemplate template) {}

    /** The tokenizer of {@code modelReference}, or empty when this provider finds none. */
    Optional<Loaded> load(String modelReference) throws IOException;

    /** The first provider on the class path that finds a tokenizer for {@code modelReference}. */
    static Optional<Loaded> find(String modelReference) throws IOException {
        for (TokenizerProvider p : ServiceLoader.load(TokenizerProvider.class)) {
            Optional<Loaded> l = p.load(modelReference);
            if (l.isPresent()) {
                return l;
            }
        }
        return Optional.empty();
    }
}
