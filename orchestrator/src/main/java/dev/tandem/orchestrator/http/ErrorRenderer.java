package dev.tandem.orchestrator.http;

/**
 * Renders the body of an error the server itself answers (a protocol error, an overload, a handler that failed),
 * so that every error on the wire has the application's one format.
 */
@FunctionalInterface
public interface ErrorRenderer {

    /** Returns the JSON body for {@code status}; {@code code} is a short machine-readable reason. */
    byte[] render(int status, String code, String message);
}
