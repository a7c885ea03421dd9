package dev.tandem.engine.tools;

import dev.tandem.engine.model.Llama2cLoader;
import dev.tandem.engine.model.ModelLoader;
import dev.tandem.engine.model.ModelWriter;
import java.nio.file.Path;

/**
 * Writes a model (e.g. {@code random:...}) to a file, so that other engines can run the very same weights:
 * {@code java -cp ... dev.tandem.engine.tools.WriteModel MODEL llama2c|hf OUT}.
 */
public final class WriteModel {

    private WriteModel() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !(args[1].equals("llama2c") || args[1].equals("hf"))) {
            System.err.println("usage: WriteModel MODEL llama2c|hf OUT");
            System.exit(2);
        }
        Llama2cLoader.Loaded m = ModelLoader.load(args[0]);
        if (args[1].equals("llama2c")) {
            ModelWriter.writeLlama2c(m, Path.of(args[2]));
        } else {
            ModelWriter.writeHuggingFace(m, Path.of(args[2]));
        }
        System.err.println("wrote " + args[0] + " as " + args[1] + " to " + args[2]);
    }
}
