package dev.tandem.engine.tokenizer;

import dev.tandem.api.tokenizer.TokenizerProvider;
import dev.tandem.engine.model.HuggingFaceCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Tokenizers next to model files on this machine, or in the Hugging Face cache: see {@link TokenizerLoader#forModel}. */
public final class FileTokenizerProvider implements TokenizerProvider {

    @Override
    public Optional<Loaded> load(String modelReference) throws IOException {
        if (modelReference == null || modelReference.isEmpty() || modelReference.startsWith("random:")) {
            return Optional.empty();
        }
        Path p = Path.of(modelReference);
        if (!Files.exists(p)) {
            Optional<Path> cached = HuggingFaceCache.resolve(modelReference);
            if (cached.isEmpty()) {
                return Optional.empty();
            }
            p = cached.get();
        }
        return TokenizerLoader.forModel(p).map(l -> new Loaded(l.tokenizer(), l.template()));
    }
}
