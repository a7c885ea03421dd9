package dev.tandem.conformance.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The TCK against a server that gets the common things wrong: streams without [DONE] or usage, plain-text errors
 * with 500, no finish reasons. It must say so case by case, and pass nothing it should not. (That it passes a
 * correct server is shown against Tandem itself in the orchestrator's tests and by the conformance check against a
 * fake vLLM.)
 */
class HttpConformanceTest {

    private HttpServer server;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/v1/models",
                ex -> send(
                        ex,
                        200,
                        "application/json",
                        "{\"object\":\"list\",\"data\":[{\"id\":\"m\",\"object\":\"model\"}]}"));
        server.createContext("/v1/completions", this::completions);
        server.createContext("/v1/chat/completions", ex -> send(ex, 500, "text/plain", "oops"));
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void completions(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        if (!body.contains("\"model\":\"m\"") || body.contains("-1") || body.contains("1000000000")) {
            send(ex, 500, "text/plain", "oops");
        } else if (body.contains("\"stream\":true")) {
            send(
                    ex,
                    200,
                    "text/event-stream",
                    "data: {\"id\":\"c\",\"object\":\"text_completion\",\"choices\":"
                            + "[{\"index\":0,\"text\":\"hi\",\"finish_reason\":null}]}\n\n");
        } else {
            send(
                    ex,
                    200,
                    "application/json",
                    "{\"id\":\"c\",\"object\":\"text_completion\",\"created\":1,"
                            + "\"choices\":[{\"index\":0,\"text\":\"hi\",\"finish_reason\":\"length\"}],"
                            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
        }
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    @Test
    void aBrokenServerFailsTheCasesItBreaksAndTheReportSaysWhy() {
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        List<CaseResult> results = new HttpConformance(url, null, Duration.ofSeconds(10)).run();
        Map<String, CaseResult> byName = results.stream().collect(Collectors.toMap(CaseResult::name, r -> r));
        assertThat(byName.get("models.list").outcome()).isEqualTo(CaseResult.Outcome.PASSED);
        assertThat(byName.get("completions.basic").outcome()).isEqualTo(CaseResult.Outcome.PASSED);
        for (String broken : List.of(
                "completions.stream_framing",
                "completions.stream_include_usage",
                "chat.basic",
                "chat.stream",
                "errors.malformed_json",
                "errors.unknown_model",
                "errors.invalid_max_tokens",
                "errors.context_length_exceeded")) {
            assertThat(byName.get(broken).outcome()).as(broken).isEqualTo(CaseResult.Outcome.FAILED);
            assertThat(byName.get(broken).detail()).as(broken).isNotBlank();
        }
        assertThat(byName.get("completions.stream_framing").detail()).contains("[DONE]");
        assertThat(byName.get("errors.malformed_json").detail()).contains("expected a 4xx, got 500");
        ConformanceReport report = new ConformanceReport(results);
        assertThat(report.passed()).isFalse();
        assertThat(report.summary()).matches("\\d+ passed, \\d+ failed, \\d+ skipped");
    }

    @Test
    void anUnreachableServerFailsEveryCaseRatherThanCrashing() {
        server.stop(0);
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        List<CaseResult> results = new HttpConformance(url, "m", Duration.ofSeconds(5)).run();
        assertThat(results).isNotEmpty().allMatch(r -> r.outcome() == CaseResult.Outcome.FAILED);
    }
}
