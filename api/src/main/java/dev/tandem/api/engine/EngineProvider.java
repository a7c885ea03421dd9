package dev.tandem.api.engine;

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
}
