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
 * @param migrationLimit how many times a request whose worker failed is re-dispatched elsewhere
 */
public record FrontendConfig(
        String host, int port, long maxBodyBytes, int maxInFlight, Duration requestTimeout, int migrationLimit) {

    public static final long DEFAULT_MAX_BODY = 16L << 20;
    public static final int DEFAULT_MIGRATION_LIMIT = 3;

    public FrontendConfig(String host, int port, long maxBodyBytes, int maxInFlight, Duration requestTimeout) {
        this(host, port, maxBodyBytes, maxInFlight, requestTimeout, DEFAULT_MIGRATION_LIMIT);
    }

    public static FrontendConfig defaults(String host, int port) {
        return new FrontendConfig(host, port, DEFAULT_MAX_BODY, 1024, Duration.ofMinutes(10));
    }
}
