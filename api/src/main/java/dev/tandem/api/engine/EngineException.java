package dev.tandem.api.engine;

/** The one error type of engines and the layers above them; the HTTP edge maps {@link Kind} to a status. */
public class EngineException extends RuntimeException {

    /** What went wrong, coarse enough to map to a protocol status. */
    public enum Kind {
        /** The request itself is wrong (400). */
        INVALID_REQUEST,
        /** The worker or engine is full (503); retry later. */
        OVERLOADED,
        /** The worker cannot be reached or has stopped (503; another worker may serve). */
        UNAVAILABLE,
        /** A bug or an unexpected failure (500). */
        INTERNAL
    }

    private final Kind kind;

    public EngineException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public EngineException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
