package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code /metrics} in Prometheus' text format, moving with the traffic: frontend, router and worker metrics. */
class MetricsEndpointTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static String get(EmbeddedCluster c, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + path))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        if (path.equals("/metrics")) {
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        }
        return r.body();
    }

    private static int post(EmbeddedCluster c, String body) throws Exception {
        return HTTP.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/v1/completions"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    /** The sum of every sample of {@code name} (over its labels). */
    private static double sum(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$")
                .matcher(text);
        double s = 0;
        while (m.find()) {
            s += Double.parseDouble(m.group(1));
        }
        return s;
    }

    @Test
    void theMetricsCountRequestsTokensDecisionsAndShowEveryWorker() throws Exception {
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        try (EmbeddedCluster c = EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, 2, "sim", null, "tandem", 16, 1024, 100, Map.of()))) {
            String before = get(c, "/metrics");
            for (int i = 0; i < 6; i++) {
                assertThat(post(
                                c,
                                "{\"model\":\"tandem-demo\",\"prompt\":\"metrics " + i + "\",\"max_tokens\":8,"
                                        + "\"ignore_eos\":true,\"stream\":" + (i % 2 == 0) + "}"))
                        .isEqualTo(200);
            }
            assertThat(post(c, "{\"model\":\"no-such-model\",\"prompt\":\"x\"}"))
                    .isEqualTo(404);
            Thread.sleep(400); // a load snapshot of each worker arrives (every 200 ms)
            String after = get(c, "/metrics");
            double requests =
                    sum(after, "tandem_frontend_requests_total") - sum(before, "tandem_frontend_requests_total");
            assertThat(requests).isEqualTo(7);
            assertThat(after)
                    .contains("tandem_frontend_requests_total{endpoint=\"/v1/completions\",model=\"tandem-demo\","
                            + "status=\"200\"} 6");
            // a made-up model name does not become a label value
            assertThat(after).doesNotContain("no-such-model");
            assertThat(sum(after, "tandem_frontend_time_to_first_token_seconds_count"))
                    .isEqualTo(6);
            assertThat(sum(after, "tandem_frontend_inter_token_latency_seconds_count"))
                    .isEqualTo(6 * 7);
            assertThat(sum(after, "tandem_frontend_output_tokens_total")).isEqualTo(48);
            assertThat(sum(after, "tandem_frontend_input_tokens_total")).isPositive();
            assertThat(sum(after, "tandem_router_decisions_total")).isEqualTo(6);
            assertThat(sum(after, "tandem_router_decision_seconds_count")).isEqualTo(6);
            assertThat(sum(after, "tandem_frontend_active_requests")).isZero();
            for (String w : new String[] {"worker-0", "worker-1"}) {
                assertThat(after).contains("tandem_worker_kv_blocks_capacity{worker=\"" + w + "\"}");
                assertThat(after).contains("tandem_worker_requests_running{worker=\"" + w + "\"}");
            }
            assertThat(sum(after, "tandem_worker_kv_blocks_capacity")).isEqualTo(2 * 1024);
            // every prompt token the frontend sent was looked up in a worker's prefix cache, once
            assertThat(sum(after, "tandem_worker_prefix_cache_queries_total")
                            - sum(before, "tandem_worker_prefix_cache_queries_total"))
                    .isEqualTo(sum(after, "tandem_frontend_input_tokens_total")
                            - sum(before, "tandem_frontend_input_tokens_total"));
            assertThat(after).contains("tandem_worker_preemptions_total{worker=\"worker-0\"}");
        }
    }
}
