package dev.tandem.orchestrator.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingPolicies;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerClient;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Streams that stay quiet for a long time on the gRPC request plane: a slow worker (one step takes ~33 s) behind a
 * real gRPC server. The frontend's keep-alive pings must be welcome on the worker, and a stream that fails after it
 * began must end with an error event and [DONE], never a silent end of the body.
 */
class QuietStreamTest {

    private static final String NS = "quiet";
    private Discovery discovery;
    private EventPlane events;
    private Engine engine;
    private GrpcWorkerServer server;
    private WorkerHost host;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        discovery = DiscoveryProvider.open(URI.create("memory:quiet"));
        events = EventPlaneProvider.open(URI.create("memory:quiet"));
        engine = Engines.provider("sim")
                .create(EngineConfig.builder()
                        .workerId("slow")
                        .blockSize(16)
                        .kvBlocks(256)
                        // A step's tokens go out when it starts; then the engine sleeps the step's model time
                        // (~16.5 ms for a short prefill) divided by this: ~33 s of quiet before the second token.
                        .speedup(0.0005)
                        .kvEvents(WorkerHost.eventSink(events, NS, "slow"))
                        .build());
        server = GrpcWorkerServer.start(engine, "127.0.0.1", 0);
        host = WorkerHost.start(NS, "slow", engine, server.address(), discovery, events, Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() {
        server.close();
        host.close();
        events.close();
        discovery.close();
    }

    private Frontend frontend(String replica, Function<String, WorkerClient> connector) throws Exception {
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, 1 << 20, 64, Duration.ofMinutes(5), 0);
        Frontend f = Frontend.start(
                fc, NS, 16, new Router(RoutingPolicies.create("kv")), discovery, events, connector, replica);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (f.pool().size() == 0) {
            assertThat(System.nanoTime()).as("the worker is discovered").isLessThan(deadline);
            Thread.sleep(10);
        }
        return f;
    }

    private String stream(Frontend f) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + f.port() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(120))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tandem-demo\",\"prompt\":\"a quiet"
                                + " stream\",\"max_tokens\":2,\"ignore_eos\":true,\"stream\":true}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    @Test
    void aStreamQuietForLongerThanThreeKeepalivePingsEndsWithDone() throws Exception {
        try (Frontend f = frontend("f-quiet", a -> new GrpcWorkerClient(a, a))) {
            long t0 = System.nanoTime();
            String body = stream(f);
            assertThat(Duration.ofNanos(System.nanoTime() - t0))
                    .as("quiet for longer than three pings")
                    .isGreaterThan(Duration.ofSeconds(3 * GrpcWorkerServer.CLIENT_KEEPALIVE_SECONDS));
            assertThat(body).doesNotContain("\"error\"").contains("\"finish_reason\":\"length\"");
            assertThat(body).endsWith("data: [DONE]\n\n");
        }
    }

    @Test
    void aStreamThatFailsAfterItBeganEndsWithAnErrorEventAndDone() throws Exception {
        // A one-second deadline on a ~33 s step: the call fails after the first token was streamed.
        try (Frontend f = frontend("f-deadline", a -> new GrpcWorkerClient(a, a, Duration.ofSeconds(1)))) {
            String body = stream(f);
            assertThat(body).contains("\"text\":").contains("data: {\"error\":");
            assertThat(body).endsWith("data: [DONE]\n\n");
        }
    }
}
