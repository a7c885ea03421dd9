package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.testing.TestCluster;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Cache-aware routing end to end: KV events reach the router, which sends repeated prefixes back to their worker. */
class KvRoutingTest {

    private static final String LONG_PROMPT = "{\"model\":\"tandem-demo\",\"prompt\":\""
            + "The tandem bicycle has two riders. ".repeat(20) + "\",\"max_tokens\":2}";
    // A small request that keeps its worker busy for a while (ignore_eos, many tokens).
    private static final String BUSY =
            "{\"model\":\"tandem-demo\",\"prompt\":\"busy\",\"max_tokens\":5000,\"ignore_eos\":true}";

    @Test
    void kvPolicySendsARepeatedPromptToTheWorkerThatCachedIt() throws Exception {
        try (TestCluster c = TestCluster.start("kv")) {
            Outcome first = send(c, LONG_PROMPT);
            awaitIndexed(c, first.worker);
            CompletableFuture<HttpResponse<String>> busy = occupy(c, first.worker);
            Outcome second = send(c, LONG_PROMPT);
            assertThat(second.worker).isEqualTo(first.worker);
            assertThat(second.cached).isGreaterThan(0);
            assertThat(busy.get().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void leastLoadedPolicyIgnoresTheCacheAndPicksTheIdleWorker() throws Exception {
        try (TestCluster c = TestCluster.start("least-loaded")) {
            Outcome first = send(c, LONG_PROMPT);
            awaitIndexed(c, first.worker);
            CompletableFuture<HttpResponse<String>> busy = occupy(c, first.worker);
            Outcome second = send(c, LONG_PROMPT);
            assertThat(second.worker).isNotEqualTo(first.worker);
            assertThat(second.cached).isZero();
            assertThat(busy.get().statusCode()).isEqualTo(200);
        }
    }

    private record Outcome(String worker, long cached) {}

    private static Outcome send(TestCluster c, String body) throws Exception {
        HttpResponse<String> r = c.post("/v1/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = Json.MAPPER.readTree(r.body());
        return new Outcome(
                r.headers().firstValue(OpenAiService.WORKER_HEADER).orElseThrow(),
                j.at("/usage/prompt_tokens_details/cached_tokens").asLong());
    }

    private static void awaitIndexed(TestCluster c, String worker) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (c.cluster().router().index().blockCount(worker) == 0) {
            assertThat(System.nanoTime())
                    .as("KV events of " + worker + " reach the router")
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** Starts a long request on {@code worker} (retrying until routing puts it there) and waits until it runs. */
    private static CompletableFuture<HttpResponse<String>> occupy(TestCluster c, String worker) throws Exception {
        var router = c.cluster().router();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            CompletableFuture<HttpResponse<String>> f = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.post("/v1/completions", BUSY);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            while (router.load().of(worker).requests() == 0 && !f.isDone()) {
                Thread.sleep(5);
                if (anyOtherBusy(c, worker)) {
                    break;
                }
            }
            if (router.load().of(worker).requests() > 0) {
                return f;
            }
            f.get();
            assertThat(System.nanoTime())
                    .as("a busy request lands on " + worker)
                    .isLessThan(deadline);
        }
    }

    private static boolean anyOtherBusy(TestCluster c, String worker) {
        return c.cluster().pool().workersFor("tandem-demo").stream()
                .anyMatch(w -> !w.id().equals(worker)
                        && c.cluster().router().load().of(w.id()).requests() > 0);
    }
}
