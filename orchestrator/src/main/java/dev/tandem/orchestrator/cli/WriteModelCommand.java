package dev.tandem.orchestrator.cli;

import dev.tandem.api.engine.Engines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem write-model}: writes a model that Tandem can load (typically a seeded {@code random:SHAPE}) as a
 * llama2.c checkpoint or a Hugging Face directory (config.json + model.safetensors, f32), so that other engines run
 * the very same weights in comparisons.
 */
@Command(
        name = "write-model",
        mixinStandardHelpOptions = true,
        description = "Write a model (e.g. random:SHAPE) as a llama2.c file or a Hugging Face directory.")
public final class WriteModelCommand implements Callable<Integer> {

    enum Format {
        llama2c,
        hf
    }

    @Option(names = "--model", required = true, description = "Model reference (file, directory or random:SHAPE).")
    String model;

    @Option(
            names = "--format",
            required = true,
            description = "llama2c (one .bin file) or hf (a directory with config.json and model.safetensors).")
    Format format;

    @Option(names = "--output", required = true, description = "File (llama2c) or directory (hf) to write.")
    Path output;

    @Option(
            names = "--engine",
            defaultValue = "native",
            description = "Engine that loads the model (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--force", description = "Overwrite an existing output.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(output) && !force) {
            throw new IllegalArgumentException(output + " exists; pass --force to overwrite it");
        }
        Engines.provider(engine).writeModel(model, format.name(), output);
        System.err.println("tandem: wrote " + model + " as " + format + " to " + output);
        return 0;
    }
}
