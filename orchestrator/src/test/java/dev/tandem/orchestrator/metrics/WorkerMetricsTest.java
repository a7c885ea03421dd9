package dev.tandem.orchestrator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** A worker process's own {@code /metrics} (its {@code --metrics-port}), read from its engine at each scrape. */
class WorkerMetricsTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static void generate(Engine engine, String id, int[] prompt) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        engine.generate(
                new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(4)),
                new TokenListener() {
                    @Override
                    public void onDelta(TokenDelta delta) {
                        if (delta.isFinal()) {
                            done.complete(null);
                        }
                    }

                    @Override
                    public void onError(EngineException error) {
                        done.completeExceptionally(error);
                    }
                });
        done.get(30, TimeUnit.SECONDS);
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$")
                .matcher(text);
        assertThat(m.find()).as(series + " in\n" + text).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aWorkersOwnEndpointCountsItsPrefixCacheQueriesAndHitsAndShowsItsLoad() throws Exception {
        Engine engine = Engines.provider("sim")
                .create(EngineConfig.builder()
                        .workerId("w-metrics")
                        .blockSize(16)
                        .kvBlocks(256)
                        .speedup(100)
                        .build());
        try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1", 0, WorkerMetrics.of(engine)::scrape)) {
            int[] prompt = new int[40];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 5 + i;
            }
            generate(engine, "first", prompt);
            generate(engine, "second", prompt);
            HttpResponse<String> r = get(endpoint.port(), "/metrics");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
            String text = r.body();
            assertThat(value(text, "tandem_worker_prefix_cache_queries_total{worker=\"w-metrics\"}"))
                    .isEqualTo(80);
            // the second request finds the first's two full blocks (32 tokens) cached
            assertThat(value(text, "tandem_worker_prefix_cache_hits_total{worker=\"w-metrics\"}"))
                    .isEqualTo(32);
            assertThat(value(text, "tandem_worker_preemptions_total{worker=\"w-metrics\"}"))
                    .isZero();
            assertThat(value(text, "tandem_worker_kv_blocks_capacity{worker=\"w-metrics\"}"))
                    .isEqualTo(256);
            assertThat(text).contains("jvm_memory_used_bytes");
            assertThat(get(endpoint.port(), "/live").statusCode()).isEqualTo(200);
            assertThat(get(endpoint.port(), "/v1/models").statusCode()).isEqualTo(404);
        } finally {
            engine.close();
        }
    }
}
