package dev.tandem.engine.tokenizer;

import dev.tandem.api.tokenizer.TokenizerProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Tokenizers next to model files on this machine: see {@link TokenizerLoader#forModel}. */
public final class FileTokenizerProvider implements TokenizerProvider {

    @Override
    public Optional<Loaded> load(String modelReference) throws IOException {
        if (modelReference == null || modelReference.isEmpty() || modelReference.startsWith("random:")) {
            return Optional.empty();
        }
        Path p = Path.of(modelReference);
        if (!Files.exists(p)) {
            return Optional.empty();
        }
        return TokenizerLoader.forModel(p).map(l -> new Loaded(l.tokenizer(), l.template()));
    }
}
