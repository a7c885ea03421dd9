package dev.tandem.orchestrator.frontend;

import java.time.Duration;

/**
 * HTTP frontend settings.
 *
 * @param host bind address
 * @param port TCP port (0 = ephemeral)
 * @param maxBodyBytes request bodies above this get 413
 * @param maxInFlight requests served at once; more get 503 with Retry-After
 * @param requestTimeout longest a request may wait for its next token
 */
public record FrontendConfig(String host, int port, long maxBodyBytes, int maxInFlight, Duration requestTimeout) {

    public static final long DEFAULT_MAX_BODY = 16L << 20;

    public static FrontendConfig defaults(String host, int port) {
        return new FrontendConfig(host, port, DEFAULT_MAX_BODY, 1024, Duration.ofMinutes(10));
    }
}
