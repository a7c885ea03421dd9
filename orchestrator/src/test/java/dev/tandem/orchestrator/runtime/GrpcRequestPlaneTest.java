package dev.tandem.orchestrator.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.frontend.Json;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingPolicies;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerClient;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gRPC request plane end to end, in one JVM: sim workers behind real gRPC servers on loopback, a frontend
 * routing to them through gRPC clients. A worker that dies mid-stream is migrated away from without the client
 * noticing; a client that disconnects frees the request's KV blocks on the worker.
 */
class GrpcRequestPlaneTest {

    private static final String NS = "test";
    private Discovery discovery;
    private EventPlane events;
    private final Map<String, Engine> engines = new LinkedHashMap<>();
    private final Map<String, GrpcWorkerServer> servers = new LinkedHashMap<>();
    private final List<WorkerHost> hosts = new ArrayList<>();
    private Frontend frontend;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        discovery = DiscoveryProvider.open(URI.create("memory:grpc"));
        events = EventPlaneProvider.open(URI.create("memory:grpc"));
        for (int i = 0; i < 2; i++) {
            String id = "w" + i;
            Engine e = Engines.provider("sim")
                    .create(EngineConfig.builder()
                            .workerId(id)
                            .blockSize(16)
                            .kvBlocks(2048)
                            .speedup(4)
                            .kvEvents(WorkerHost.eventSink(events, NS, id))
                            .build());
            GrpcWorkerServer s = GrpcWorkerServer.start(e, "127.0.0.1", 0);
            engines.put(id, e);
            servers.put(id, s);
            hosts.add(WorkerHost.start(NS, id, e, s.address(), discovery, events, Duration.ofSeconds(10)));
        }
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, 1 << 20, 64, Duration.ofSeconds(60), 3);
        frontend = Frontend.start(
                fc,
                NS,
                16,
                new Router(RoutingPolicies.create("kv")),
                discovery,
                events,
                address -> new GrpcWorkerClient(address, address),
                "f1");
        eventually("both workers are discovered", () -> frontend.pool().size() == 2);
    }

    @AfterEach
    void stop() {
        if (frontend != null) {
            frontend.close();
        }
        servers.values().forEach(GrpcWorkerServer::close);
        hosts.forEach(WorkerHost::close);
        events.close();
        discovery.close();
    }

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static final String STREAM = "{\"model\":\"tandem-demo\",\"prompt\":\"Tell me a long story about"
            + " tandem bicycles.\",\"max_tokens\":400,\"ignore_eos\":true,\"stream\":true,"
            + "\"stream_options\":{\"include_usage\":true}}";

    private HttpResponse<Stream<String>> openStream() throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + frontend.port() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(STREAM))
                        .build(),
                HttpResponse.BodyHandlers.ofLines());
    }

    /** Text and usage of one streamed completion; {@code onChunk} runs after each text chunk. */
    private record Streamed(String worker, String text, JsonNode usage, String finish) {}

    private Streamed consume(HttpResponse<Stream<String>> r, Runnable afterFewChunks) throws Exception {
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        JsonNode usage = null;
        String finish = null;
        int chunks = 0;
        Iterator<String> lines = r.body().iterator();
        while (lines.hasNext()) {
            String line = lines.next();
            if (!line.startsWith("data: ")) {
                continue;
            }
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                break;
            }
            JsonNode j = Json.MAPPER.readTree(data);
            assertThat(j.has("error")).as(data).isFalse();
            if (j.get("choices").size() > 0) {
                text.append(j.at("/choices/0/text").asText());
                if (!j.at("/choices/0/finish_reason").isNull()) {
                    finish = j.at("/choices/0/finish_reason").asText();
                }
                if (++chunks == 20) {
                    afterFewChunks.run();
                }
            }
            if (j.hasNonNull("usage")) {
                usage = j.get("usage");
            }
        }
        return new Streamed(r.headers().firstValue("x-tandem-worker-id").orElseThrow(), text.toString(), usage, finish);
    }

    @Test
    void aWorkerDyingMidStreamIsInvisibleToTheClient() throws Exception {
        Streamed clean = consume(openStream(), () -> {});
        assertThat(clean.usage().get("completion_tokens").asInt()).isEqualTo(400);
        assertThat(clean.text()).hasSizeGreaterThan(300); // EOS ids (ignored, not shown) make it a little shorter

        HttpResponse<Stream<String>> r = openStream();
        String serving = r.headers().firstValue("x-tandem-worker-id").orElseThrow();
        Streamed faulty = consume(r, () -> {
            servers.get(serving).close(); // the worker's request plane dies: every stream on it breaks
            engines.get(serving).close();
        });
        assertThat(faulty.text()).as("the same text as a run without faults").isEqualTo(clean.text());
        assertThat(faulty.finish()).isEqualTo("length");
        assertThat(faulty.usage().get("completion_tokens").asInt()).isEqualTo(400);
        assertThat(faulty.usage().get("prompt_tokens").asInt())
                .isEqualTo(clean.usage().get("prompt_tokens").asInt());

        // The dead worker is marked down: the next request goes straight to the other one.
        HttpResponse<String> next = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + frontend.port() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"tandem-demo\",\"prompt\":\"again\",\"max_tokens\":3}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.headers().firstValue("x-tandem-worker-id")).hasValue(serving.equals("w0") ? "w1" : "w0");
    }

    @Test
    void aClientDisconnectFreesTheRequestsKvBlocksOnTheWorker() throws Exception {
        eventually(
                "idle workers",
                () -> engines.values().stream().allMatch(e -> e.load().kvBlocksUsed() == 0));
        try (Socket s = new Socket("127.0.0.1", frontend.port())) {
            OutputStream out = s.getOutputStream();
            byte[] body = STREAM.getBytes(StandardCharsets.UTF_8);
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                            + "Content-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.write(body);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            int dataLines = 0;
            while (dataLines < 5) {
                String line = in.readLine();
                assertThat(line).isNotNull();
                if (line.startsWith("data: ")) {
                    dataLines++;
                }
            }
            eventually(
                    "the request holds KV blocks",
                    () -> engines.values().stream().anyMatch(e -> e.load().kvBlocksUsed() > 0));
        }
        eventually(
                "the disconnect frees every block",
                () -> engines.values().stream().allMatch(e -> e.load().kvBlocksUsed() == 0));
    }

    @Test
    void aCallPastItsDeadlineEndsAndTheWorkerFreesTheBlocks() throws Exception {
        eventually(
                "idle workers",
                () -> engines.values().stream().allMatch(e -> e.load().kvBlocksUsed() == 0));
        String address = servers.get("w0").address();
        try (GrpcWorkerClient client = new GrpcWorkerClient("w0", address, Duration.ofMillis(300))) {
            java.util.concurrent.CompletableFuture<dev.tandem.api.engine.EngineException> failed =
                    new java.util.concurrent.CompletableFuture<>();
            client.generate(
                    new dev.tandem.api.engine.GenerateRequest(
                            "slow",
                            new int[] {1, 2, 3, 4, 5},
                            dev.tandem.api.engine.SamplingParams.GREEDY,
                            dev.tandem.api.engine.StopConditions.maxTokens(20_000)
                                    .withIgnoreEos(true)),
                    new dev.tandem.api.engine.TokenListener() {
                        @Override
                        public void onDelta(dev.tandem.api.engine.TokenDelta delta) {
                            if (delta.isFinal()) {
                                failed.complete(null);
                            }
                        }

                        @Override
                        public void onError(dev.tandem.api.engine.EngineException error) {
                            failed.complete(error);
                        }
                    });
            dev.tandem.api.engine.EngineException e = failed.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(e).as("the call ends with an error, not a final delta").isNotNull();
            assertThat(e.kind())
                    .as("a deadline is not a worker failure: no migration")
                    .isEqualTo(dev.tandem.api.engine.EngineException.Kind.INTERNAL);
            assertThat(e.getMessage()).containsIgnoringCase("deadline exceeded");
        }
        eventually(
                "the worker aborted the request", () -> engines.get("w0").load().kvBlocksUsed() == 0);
    }
}
