package dev.tandem.orchestrator.metrics;

import dev.tandem.api.kv.LoadSnapshot;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * A frontend's metrics in Prometheus' model (the Prometheus Java client 1.x), served as text on {@code /metrics}.
 * Each frontend has its own registry (several run in one JVM in tests and in the embedded server). Worker gauges
 * come from the load snapshots the workers publish every 200 ms; the JVM's own (memory, GC, threads) come with them.
 */
public final class TandemMetrics {

    /** Latency buckets in seconds: 1 ms to 60 s, denser where TTFT and ITL live. */
    private static final double[] LATENCY = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60
    };

    private static final double[] FAST = {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2};

    private final PrometheusRegistry registry = new PrometheusRegistry();

    public final Counter requests = Counter.builder()
            .name("tandem_frontend_requests_total")
            .help("HTTP API requests answered, by model, endpoint and status")
            .labelNames("model", "endpoint", "status")
            .register(registry);
    public final Gauge activeRequests = Gauge.builder()
            .name("tandem_frontend_active_requests")
            .help("HTTP API requests being served")
            .register(registry);
    public final Histogram timeToFirstToken = Histogram.builder()
            .name("tandem_frontend_time_to_first_token_seconds")
            .help("From a request's arrival to its first output")
            .classicOnly()
            .classicUpperBounds(LATENCY)
            .register(registry);
    public final Histogram interTokenLatency = Histogram.builder()
            .name("tandem_frontend_inter_token_latency_seconds")
            .help("Between consecutive outputs of a request")
            .classicOnly()
            .classicUpperBounds(LATENCY)
            .register(registry);
    public final Histogram requestDuration = Histogram.builder()
            .name("tandem_frontend_request_duration_seconds")
            .help("From a request's arrival to its last byte")
            .classicOnly()
            .classicUpperBounds(LATENCY)
            .register(registry);
    public final Counter inputTokens = Counter.builder()
            .name("tandem_frontend_input_tokens_total")
            .help("Prompt tokens of completed requests")
            .register(registry);
    public final Counter outputTokens = Counter.builder()
            .name("tandem_frontend_output_tokens_total")
            .help("Completion tokens of completed requests")
            .register(registry);
    public final Counter cachedTokens = Counter.builder()
            .name("tandem_frontend_cached_tokens_total")
            .help("Prompt tokens served from a cache that existed before the request")
            .register(registry);
    public final Counter migrations = Counter.builder()
            .name("tandem_frontend_migrations_total")
            .help("Streams continued on another worker after theirs failed")
            .register(registry);
    public final Counter rejections = Counter.builder()
            .name("tandem_frontend_rejections_total")
            .help("Requests refused for load, by reason")
            .labelNames("reason")
            .register(registry);
    public final Counter routerDecisions = Counter.builder()
            .name("tandem_router_decisions_total")
            .help("Routing decisions, by policy and chosen worker")
            .labelNames("policy", "worker")
            .register(registry);
    public final Histogram routerDecisionSeconds = Histogram.builder()
            .name("tandem_router_decision_seconds")
            .help("Time to take one routing decision")
            .classicOnly()
            .classicUpperBounds(FAST)
            .register(registry);
    public final Histogram routerOverlapRatio = Histogram.builder()
            .name("tandem_router_kv_overlap_ratio")
            .help("Share of a routed prompt's blocks cached on the chosen worker")
            .classicOnly()
            .classicUpperBounds(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
            .register(registry);

    /** Why requests are refused; each series exists from the start (at 0), so rates and alerts see it. */
    public static final List<String> REJECTION_REASONS = List.of("max_in_flight", "engine_overloaded", "rate_limited");

    /** @param loads the latest load snapshot of every live worker */
    public TandemMetrics(Supplier<Collection<LoadSnapshot>> loads) {
        REJECTION_REASONS.forEach(r -> rejections.labelValues(r));
        WorkerMetrics.register(registry, loads);
        JvmMetrics.builder().register(registry);
    }

    /** A registry's worth of metrics for code that runs without a frontend (tests, tools). */
    public static TandemMetrics detached() {
        return new TandemMetrics(List::of);
    }

    /** The text exposition format (version 0.0.4) of every metric. */
    public byte[] scrape() {
        return scrape(registry);
    }

    static byte[] scrape(PrometheusRegistry registry) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The content type of {@link #scrape()}. */
    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
