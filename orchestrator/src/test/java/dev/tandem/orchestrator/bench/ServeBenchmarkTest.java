package dev.tandem.orchestrator.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.frontend.RateLimiter;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@code bench serve} against a real Tandem server on loopback (the sim engine). */
class ServeBenchmarkTest {

    private static EmbeddedCluster cluster(FrontendConfig fc) throws Exception {
        return EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, 2, "sim", null, "tandem", 16, 1024, 100, Map.of()));
    }

    private static FrontendConfig frontend() {
        return new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
    }

    private static ServeBenchmark.Settings settings(EmbeddedCluster c, String endpoint, int requests, double rate) {
        return new ServeBenchmark.Settings(
                URI.create("http://127.0.0.1:" + c.port() + "/v1"),
                "tandem-demo",
                endpoint,
                4,
                requests,
                48,
                6,
                rate,
                2,
                null,
                7,
                Duration.ofSeconds(60),
                Map.of("X-Bench", "serve"));
    }

    @Test
    void everyStreamedRequestIsTimedAndItsTokensCounted() throws Exception {
        try (EmbeddedCluster c = cluster(frontend())) {
            for (String endpoint : new String[] {"completions", "chat"}) {
                ServeBenchmark.Result r = ServeBenchmark.run(settings(c, endpoint, 20, 0));
                assertThat(r.ok()).as(endpoint).isEqualTo(20);
                assertThat(r.failed()).isZero();
                assertThat(r.outputTokens()).isEqualTo(20 * 6);
                // the prompt is calibrated against the server's own count (within a few tokens of 48)
                assertThat((double) r.promptTokens() / 20).isBetween(40.0, 60.0);
                assertThat(r.ttftMs().p50()).isPositive();
                assertThat(r.ttftMs().max()).isGreaterThanOrEqualTo(r.ttftMs().p99());
                assertThat(r.e2eMs().p50()).isGreaterThanOrEqualTo(r.ttftMs().p50());
                assertThat(r.json().path("ok").asInt()).isEqualTo(20);
                assertThat(r.json().path("itl_ms").has("p99")).isTrue();
            }
        }
    }

    @Test
    void refusedRequestsAreCountedAsFailuresWithTheServersReason() throws Exception {
        try (EmbeddedCluster c = cluster(frontend().withRateLimit(new RateLimiter(5)))) {
            ServeBenchmark.Result r = ServeBenchmark.run(settings(c, "completions", 40, 0));
            assertThat(r.failed()).isPositive();
            assertThat(r.ok() + r.failed()).isEqualTo(40);
            assertThat(r.errors().keySet()).allMatch(e -> e.startsWith("HTTP 429"));
        }
    }

    @Test
    void aServerThatRefusesTheFirstRequestStopsTheRunWithItsAnswer() throws Exception {
        try (EmbeddedCluster c = cluster(frontend())) {
            ServeBenchmark.Settings wrong = new ServeBenchmark.Settings(
                    URI.create("http://127.0.0.1:" + c.port() + "/v1"),
                    "no-such-model",
                    "completions",
                    1,
                    1,
                    8,
                    2,
                    0,
                    0,
                    null,
                    0,
                    Duration.ofSeconds(10),
                    Map.of());
            assertThatThrownBy(() -> ServeBenchmark.run(wrong)).hasMessageContaining("HTTP 404");
        }
    }

    @Test
    void promptsDifferFromTheirFirstWords() {
        String a = ServeBenchmark.prompt(new SplittableRandom(1), 0, 20);
        String b = ServeBenchmark.prompt(new SplittableRandom(1), 1, 20);
        assertThat(a.split(" ")).hasSize(20);
        assertThat(a.substring(0, 9)).isNotEqualTo(b.substring(0, 9));
    }
}
