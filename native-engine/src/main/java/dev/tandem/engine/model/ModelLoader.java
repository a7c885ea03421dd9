package dev.tandem.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds and loads a model from a reference: a llama2.c checkpoint file or a Hugging Face directory. */
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
        throw new IOException("no model at " + reference);
    }

    /** The name a model is served under: its file name without extension. */
    public static String servedName(String reference) {
        if (RandomModel.isReference(reference)) {
            return "random";
        }
        String name = Path.of(reference).getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
