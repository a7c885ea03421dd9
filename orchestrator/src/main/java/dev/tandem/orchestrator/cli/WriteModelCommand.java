package dev.tandem.orchestrator.cli;

import dev.tandem.api.engine.Engines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
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

    @Option(
            names = "--dtype",
            description = "hf only: tensor type f32, f16 or bf16 (default: f32; llama2c files are always f32).")
    String dtype;

    @Option(
            names = "--shards",
            description = "hf only: number of safetensors files (at most one per tensor), with a"
                    + " model.safetensors.index.json (default: 1). Earlier weight files in the directory are replaced.")
    Integer shards;

    @Option(names = "--force", description = "Overwrite an existing output.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (output.toString().isBlank()) {
            throw new IllegalArgumentException("--output must name a file or directory");
        }
        if (format == Format.hf && Files.isRegularFile(output)) {
            throw new IllegalArgumentException(output + " is a file; an hf model is written as a directory");
        }
        if (format == Format.llama2c && Files.isDirectory(output)) {
            throw new IllegalArgumentException(output + " is a directory; a llama2c model is written as one file");
        }
        if (Files.exists(output) && !force) {
            throw new IllegalArgumentException(output + " exists; pass --force to overwrite it");
        }
        Map<String, String> options = new HashMap<>();
        if (dtype != null) {
            options.put("dtype", dtype);
        }
        if (shards != null) {
            options.put("shards", String.valueOf(shards));
        }
        Engines.provider(engine).writeModel(model, format.name(), output, options);
        System.err.println("tandem: wrote " + model + " as " + format + " to " + output);
        return 0;
    }
}
