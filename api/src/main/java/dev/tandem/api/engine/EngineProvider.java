package dev.tandem.api.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Creates engines of one kind; found with {@link java.util.ServiceLoader}. A provider that cannot work on this
 * machine (no GPU, no external binary) says so through {@link #isAvailable()} instead of failing at load time.
 */
public interface EngineProvider {

    /** The name used on the CLI ({@code --engine NAME}). */
    String name();

    boolean isAvailable();

    /** Why the provider is unavailable, for error messages; empty when it is available. */
    default String unavailableReason() {
        return "";
    }

    Engine create(EngineConfig config);

    /**
     * An engine for discrete-event simulation, stepped by its caller on virtual time. Only engines with a timing
     * model can offer one.
     *
     * @throws UnsupportedOperationException when this engine computes in real time only
     */
    default SteppedEngine createStepped(EngineConfig config) {
        throw new UnsupportedOperationException("engine '" + name() + "' cannot run on virtual time");
    }

    /**
     * Writes {@code model} (any reference this engine loads, typically a seeded random shape) in another engine's
     * format, so that other engines can run the very same weights.
     *
     * @param format a format name the engine documents (e.g. {@code llama2c}, {@code hf})
     * @param options format options the engine documents (e.g. {@code dtype}, {@code shards}); unknown ones are errors
     * @throws UnsupportedOperationException when this engine cannot export models
     * @throws IllegalArgumentException for an unknown format, option or model
     */
    default void writeModel(String model, String format, Path output, Map<String, String> options) throws IOException {
        throw new UnsupportedOperationException("engine '" + name() + "' cannot write models");
    }

    /**
     * The memory bandwidth, in bytes per second, of the device the engine of {@code config} computes on, measured now
     * (a GPU engine: a device-to-device copy, bytes read plus bytes written over the time); empty where the provider
     * has no such probe. {@code bench engine} divides it by the weight bytes per token for its roofline.
     */
    default java.util.OptionalDouble measureMemoryBandwidth(EngineConfig config) {
        return java.util.OptionalDouble.empty();
    }
}
