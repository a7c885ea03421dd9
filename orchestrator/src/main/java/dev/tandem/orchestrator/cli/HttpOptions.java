package dev.tandem.orchestrator.cli;

import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.http.HttpLimits;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The HTTP edge's flags, shared by {@code serve} and {@code frontend}. Their names are a contract. */
final class HttpOptions {

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Bind address (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--max-body-bytes",
            defaultValue = "16777216",
            description = "Largest accepted request body; larger gets 413 (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(
            names = "--max-header-bytes",
            defaultValue = "65536",
            description = "Largest request head (request line and header fields); larger gets 431"
                    + " (default: ${DEFAULT-VALUE}).")
    int maxHeaderBytes;

    @Option(
            names = "--read-timeout",
            defaultValue = "30",
            description = "Seconds from a request's first byte to its last body byte; past it, 408 and a close"
                    + " (default: ${DEFAULT-VALUE}).")
    double readTimeout;

    @Option(
            names = "--idle-timeout",
            defaultValue = "120",
            description = "Seconds a kept-alive connection may wait for its next request, and a write may wait on a"
                    + " client that stopped reading (default: ${DEFAULT-VALUE}).")
    double idleTimeout;

    @Option(
            names = "--max-in-flight",
            defaultValue = "1024",
            description = "Requests served at once before 503 (default: ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(
            names = "--api-keys-file",
            description = "Require an API key (Authorization: Bearer KEY) on /v1/*: one key per line in this file;"
                    + " /health, /live, /ready, /metrics and /status stay open (default: no keys).")
    java.nio.file.Path apiKeysFile;

    @Option(names = "--protect-status", description = "With --api-keys-file, /metrics and /status need a key too.")
    boolean protectStatus;

    @Option(
            names = "--rate-limit",
            description = "At most this many requests per second per API key (all clients together without keys);"
                    + " more get 429 with Retry-After (default: none).")
    Double rateLimit;

    @Option(
            names = "--drain-seconds",
            defaultValue = "30",
            description = "On SIGTERM, how long requests in progress may take to finish; /ready says 503 and no new"
                    + " connection is taken meanwhile (default: ${DEFAULT-VALUE}).")
    int drainSeconds;

    /** The graceful stop of SIGTERM: {@code drain} for up to {@code --drain-seconds}, saying what was cut. */
    void drainOnShutdown(Drainable drain) {
        try {
            if (!drain.drain(java.time.Duration.ofSeconds(Math.max(0, drainSeconds)))) {
                System.err.println(
                        "tandem: requests still in progress after --drain-seconds " + drainSeconds + " were cut");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Something that stops gracefully: {@code Frontend::drain}, {@code EmbeddedCluster::drain}. */
    @FunctionalInterface
    interface Drainable {
        boolean drain(java.time.Duration timeout) throws InterruptedException;
    }

    /** The frontend settings these flags give, with the command's migration limit. */
    FrontendConfig config(int migrationLimit) {
        if (protectStatus && apiKeysFile == null) {
            throw new IllegalArgumentException("--protect-status needs --api-keys-file");
        }
        dev.tandem.orchestrator.frontend.ApiKeys keys;
        try {
            keys = apiKeysFile == null
                    ? null
                    : dev.tandem.orchestrator.frontend.ApiKeys.load(apiKeysFile, protectStatus);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read --api-keys-file " + apiKeysFile + ": " + e.getMessage());
        }
        if (readTimeout <= 0 || idleTimeout <= 0) {
            throw new IllegalArgumentException("--read-timeout and --idle-timeout must be positive");
        }
        HttpLimits limits = new HttpLimits(
                maxBody,
                maxHeaderBytes,
                seconds(readTimeout),
                seconds(idleTimeout),
                HttpLimits.DEFAULT_MAX_CONNECTIONS);
        return new FrontendConfig(
                        host,
                        port,
                        limits,
                        maxInFlight,
                        FrontendConfig.defaults(host, port).requestTimeout(),
                        migrationLimit)
                .withApiKeys(keys)
                .withRateLimit(rateLimit == null ? null : new dev.tandem.orchestrator.frontend.RateLimiter(rateLimit));
    }

    private static Duration seconds(double s) {
        return Duration.ofNanos(Math.round(s * 1e9));
    }
}
