package dev.tandem.orchestrator.frontend;

import dev.tandem.orchestrator.http.HttpLimits;
import java.time.Duration;

/**
 * HTTP frontend settings.
 *
 * @param host bind address
 * @param port TCP port (0 = ephemeral)
 * @param http what a connection and a request may cost the server (body and header sizes, read and idle timeouts)
 * @param maxInFlight requests served at once; more get 503 with Retry-After
 * @param requestTimeout longest a request may wait for its next token
 * @param migrationLimit how many times a request whose worker failed is re-dispatched elsewhere
 * @param disaggregation when prompts are prefilled on another worker than the decoder
 * @param apiKeys the keys the API requires, or null for an open API
 * @param rateLimit requests per second per key (all clients together without keys), or null for none
 */
public record FrontendConfig(
        String host,
        int port,
        HttpLimits http,
        int maxInFlight,
        Duration requestTimeout,
        int migrationLimit,
        Disaggregation disaggregation,
        ApiKeys apiKeys,
        RateLimiter rateLimit) {

    public FrontendConfig(
            String host, int port, HttpLimits http, int maxInFlight, Duration requestTimeout, int migrationLimit) {
        this(host, port, http, maxInFlight, requestTimeout, migrationLimit, Disaggregation.DEFAULTS, null, null);
    }

    /** This configuration with other disaggregation settings. */
    public FrontendConfig withDisaggregation(Disaggregation d) {
        return new FrontendConfig(host, port, http, maxInFlight, requestTimeout, migrationLimit, d, apiKeys, rateLimit);
    }

    /** This configuration requiring {@code keys} (null: open). */
    public FrontendConfig withApiKeys(ApiKeys keys) {
        return new FrontendConfig(
                host, port, http, maxInFlight, requestTimeout, migrationLimit, disaggregation, keys, rateLimit);
    }

    /** This configuration with {@code limit} (null: none). */
    public FrontendConfig withRateLimit(RateLimiter limit) {
        return new FrontendConfig(
                host, port, http, maxInFlight, requestTimeout, migrationLimit, disaggregation, apiKeys, limit);
    }

    public static final long DEFAULT_MAX_BODY = HttpLimits.DEFAULT_MAX_BODY_BYTES;
    public static final int DEFAULT_MIGRATION_LIMIT = 3;

    public FrontendConfig(
            String host, int port, long maxBodyBytes, int maxInFlight, Duration requestTimeout, int migrationLimit) {
        this(
                host,
                port,
                HttpLimits.defaults().withMaxBodyBytes(maxBodyBytes),
                maxInFlight,
                requestTimeout,
                migrationLimit);
    }

    public FrontendConfig(String host, int port, long maxBodyBytes, int maxInFlight, Duration requestTimeout) {
        this(host, port, maxBodyBytes, maxInFlight, requestTimeout, DEFAULT_MIGRATION_LIMIT);
    }

    public static FrontendConfig defaults(String host, int port) {
        return new FrontendConfig(host, port, DEFAULT_MAX_BODY, 1024, Duration.ofMinutes(10));
    }

    /** Request bodies above this get 413. */
    public long maxBodyBytes() {
        return http.maxBodyBytes();
    }
}
