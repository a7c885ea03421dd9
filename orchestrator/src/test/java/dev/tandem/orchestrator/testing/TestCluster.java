package dev.tandem.orchestrator.testing;

import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** An embedded cluster on an ephemeral loopback port, with a raw HTTP client for wire-level assertions. */
public final class TestCluster implements AutoCloseable {

    private final EmbeddedCluster cluster;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private TestCluster(EmbeddedCluster cluster) {
        this.cluster = cluster;
    }

    /** Two sim workers at 20x real time under {@code router}, blocks of 16 tokens. */
    public static TestCluster start(String router) throws IOException {
        return start(router, 2, FrontendConfig.DEFAULT_MAX_BODY, 1024);
    }

    public static TestCluster start(String router, int workers, long maxBody, int maxInFlight) throws IOException {
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, maxBody, maxInFlight, Duration.ofMinutes(2));
        return new TestCluster(EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, workers, "sim", null, router, 16, 4096, 20, Map.of())));
    }

    /** Sim workers at {@code speedup} times real time behind a frontend of {@code fc}'s settings. */
    public static TestCluster start(FrontendConfig fc, int workers, double speedup) throws IOException {
        return new TestCluster(EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, workers, "sim", null, "kv", 16, 4096, speedup, Map.of())));
    }

    /** A cluster of any settings (e.g. the native engine). */
    public static TestCluster start(EmbeddedCluster.Settings settings) throws IOException {
        return new TestCluster(EmbeddedCluster.start(settings));
    }

    public EmbeddedCluster cluster() {
        return cluster;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + cluster.port();
    }

    public HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create(baseUrl() + path))
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create(baseUrl() + path))
                        .timeout(Duration.ofSeconds(60))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        cluster.close();
    }
}
