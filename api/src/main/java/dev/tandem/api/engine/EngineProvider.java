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

    /**
     * An engine for discrete-event simulation, stepped by its caller on virtual time. Only engines with a timing
     * model can offer one.
     *
     * @throws UnsupportedOperationException when this engine computes in real time only
     */
    default SteppedEngine createStepped(EngineConfig config) {
        throw new UnsupportedOperationException("engine '" + name() + "' cannot run on virtual time");
    }
}
