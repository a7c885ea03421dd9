package dev.tandem.orchestrator.http;

import java.time.Duration;

/**
 * What one connection and one request may cost the server. Every limit is enforced by {@link HttpServer} before a
 * handler runs, so no handler can be reached by a request that exceeds one.
 *
 * @param maxBodyBytes largest request body; a larger declared length gets 413 before a byte of it is read, a
 *     chunked body 413 as soon as it passes the limit
 * @param maxHeaderBytes largest request head (request line, header fields and a chunked body's trailer): 431 beyond
 * @param readTimeout longest time from a request's first byte to its last body byte: 408 and a close beyond, so a
 *     client that sends slowly cannot hold a connection
 * @param idleTimeout longest time a kept-alive connection may wait for its next request; also the longest a write
 *     may block on a client that stopped reading
 * @param maxConnections open connections at once; the next one gets 503 and is closed
 */
public record HttpLimits(
        long maxBodyBytes, int maxHeaderBytes, Duration readTimeout, Duration idleTimeout, int maxConnections) {

    public static final long DEFAULT_MAX_BODY_BYTES = 16L << 20;
    public static final int DEFAULT_MAX_HEADER_BYTES = 64 << 10;
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(120);
    public static final int DEFAULT_MAX_CONNECTIONS = 16_384;

    /** At most this many header fields in a head or trailer: 431 beyond. */
    static final int MAX_HEADER_FIELDS = 128;

    public HttpLimits {
        if (maxBodyBytes < 0 || maxHeaderBytes < 256 || maxConnections < 1) {
            throw new IllegalArgumentException("maxBodyBytes >= 0, maxHeaderBytes >= 256 and maxConnections >= 1");
        }
        if (readTimeout.isNegative() || readTimeout.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
    }

    public static HttpLimits defaults() {
        return new HttpLimits(
                DEFAULT_MAX_BODY_BYTES,
                DEFAULT_MAX_HEADER_BYTES,
                DEFAULT_READ_TIMEOUT,
                DEFAULT_IDLE_TIMEOUT,
                DEFAULT_MAX_CONNECTIONS);
    }

    public HttpLimits withMaxBodyBytes(long bytes) {
        return new HttpLimits(bytes, maxHeaderBytes, readTimeout, idleTimeout, maxConnections);
    }
}
