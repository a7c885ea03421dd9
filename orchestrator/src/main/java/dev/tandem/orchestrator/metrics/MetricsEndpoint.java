package dev.tandem.orchestrator.metrics;

import dev.tandem.orchestrator.http.HttpLimits;
import dev.tandem.orchestrator.http.HttpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * A process's own {@code GET /metrics} on a port of its own (a worker's {@code --metrics-port}), with {@code /live}
 * for probes; anything else is 404. It carries no prompts, so it is open like the frontend's {@code /metrics}.
 */
public final class MetricsEndpoint implements AutoCloseable {

    private final HttpServer server;

    private MetricsEndpoint(HttpServer server) {
        this.server = server;
    }

    /** Listens on {@code host:port} (0 = ephemeral) and serves what {@code scrape} returns at each request. */
    public static MetricsEndpoint start(String host, int port, Supplier<byte[]> scrape) throws IOException {
        HttpLimits limits = HttpLimits.defaults().withMaxBodyBytes(0);
        HttpServer server = HttpServer.start(
                host,
                port,
                limits,
                (req, res) -> {
                    if (!req.method().equals("GET") && !req.method().equals("HEAD")) {
                        res.header("Allow", "GET, HEAD");
                        res.send(405, "text/plain; charset=utf-8", bytes("method not allowed\n"));
                    } else if (req.path().equals("/metrics")) {
                        res.send(200, TandemMetrics.contentType(), scrape.get());
                    } else if (req.path().equals("/live")) {
                        res.send(200, "text/plain; charset=utf-8", bytes("live\n"));
                    } else {
                        res.send(404, "text/plain; charset=utf-8", bytes("not found: GET /metrics or /live\n"));
                    }
                },
                (status, code, message) -> bytes(status + " " + code + ": " + message + "\n"));
        return new MetricsEndpoint(server);
    }

    public int port() {
        return server.port();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        server.close();
    }
}
