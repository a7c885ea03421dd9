package dev.tandem.orchestrator.http;

/**
 * A request the server refuses at the protocol level (framing, limits, timeouts). The connection is always closed
 * after the answer: once framing is in doubt, no later byte on it can be trusted to start a request.
 */
public final class ProtocolException extends RuntimeException {

    private final int status;
    private final String code;

    ProtocolException(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    static ProtocolException badRequest(String message) {
        return new ProtocolException(400, "bad_request", message);
    }

    /** The HTTP status to answer with. */
    public int status() {
        return status;
    }

    /** A short machine-readable reason, used as the OpenAI error's {@code code}. */
    public String code() {
        return code;
    }
}
