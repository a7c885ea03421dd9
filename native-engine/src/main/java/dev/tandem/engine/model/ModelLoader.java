package dev.tandem.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds and loads a model from a reference: a llama2.c checkpoint file, a Hugging Face directory, a hub id
 * ({@code org/name}) already in the Hugging Face cache, or {@code random:...}.
 */
public final class ModelLoader {

    private ModelLoader() {}

    public static Llama2cLoader.Loaded load(String reference) throws IOException {
        if (RandomModel.isReference(reference)) {
            try {
                return RandomModel.load(reference);
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        Path p = Path.of(reference);
        if (Files.isRegularFile(p)) {
            return Llama2cLoader.load(p);
        }
        if (Files.isDirectory(p)) {
            return HuggingFaceLoader.load(p);
        }
        Optional<Path> cached = HuggingFaceCache.resolve(reference);
        if (cached.isPresent()) {
            return HuggingFaceLoader.load(cached.get());
        }
        String endpoint = HubDownloader.configuredEndpoint();
        if (HuggingFaceCache.isRepoId(reference) && endpoint != null) {
            try {
                return HuggingFaceLoader.load(new HubDownloader(endpoint, System.err).download(reference));
            } catch (IOException e) {
                throw new IOException(
                        "'" + reference + "' is not in the Hugging Face cache ("
                                + HuggingFaceCache.home().resolve("hub") + ") and downloading it from " + endpoint
                                + " failed: " + e.getMessage(),
                        e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while downloading " + reference, e);
            }
        }
        if (HuggingFaceCache.isRepoId(reference)) {
            throw new IOException("no model at " + reference + " and no '" + reference + "' in the Hugging Face cache ("
                    + HuggingFaceCache.home().resolve("hub") + "); download it first (e.g. huggingface-cli download "
                    + reference + ")");
        }
        throw new IOException("no model at " + reference);
    }

    /** The name a model is served under: its file name without extension. */
    public static String servedName(String reference) {
        if (RandomModel.isReference(reference)) {
            return "random";
        }
        if (HuggingFaceCache.isRepoId(reference) && !Files.exists(Path.of(reference))) {
            return reference; // a hub id is its own name, as other OpenAI-compatible servers use it
        }
        String name = Path.of(reference).getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
