package dev.tandem.conformance.http;

/** Thrown by a case whose expectation does not hold; the message says what was expected and what came. */
final class CaseFailed extends RuntimeException {

    CaseFailed(String message) {
        super(message, null, false, false);
    }

    /** Fails with {@code String.format(format, args)} unless {@code condition} holds. */
    static void check(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new CaseFailed(String.format(format, args));
        }
    }
}
