package dev.tandem.orchestrator.metrics;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.kv.LoadSnapshot;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The {@code tandem_worker_*} series, labelled by worker. A frontend exposes them for every worker it sees (from
 * their load snapshots); a worker process exposes its own on {@code --metrics-port}, read from its engine at
 * scrape time, so it can be scraped where no frontend runs.
 */
public final class WorkerMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();

    private WorkerMetrics(Supplier<Collection<LoadSnapshot>> loads) {
        register(registry, loads);
        JvmMetrics.builder().register(registry);
    }

    /** One worker process's metrics: its engine's load, read at each scrape. */
    public static WorkerMetrics of(Engine engine) {
        return new WorkerMetrics(() -> List.of(engine.load()));
    }

    /** The text exposition format of every metric. */
    public byte[] scrape() {
        return TandemMetrics.scrape(registry);
    }

    static void register(PrometheusRegistry registry, Supplier<Collection<LoadSnapshot>> loads) {
        gauge(registry, loads, "tandem_worker_kv_blocks_active", "KV blocks in use", LoadSnapshot::kvBlocksUsed);
        gauge(registry, loads, "tandem_worker_kv_blocks_capacity", "KV blocks in all", LoadSnapshot::kvBlocksTotal);
        gauge(registry, loads, "tandem_worker_requests_running", "Requests scheduled", LoadSnapshot::runningRequests);
        gauge(registry, loads, "tandem_worker_requests_waiting", "Requests queued", LoadSnapshot::waitingRequests);
        counter(
                registry,
                loads,
                "tandem_worker_prefix_cache_queries_total",
                "Prompt tokens looked up in the prefix cache",
                LoadSnapshot::prefixQueryTokens);
        counter(
                registry,
                loads,
                "tandem_worker_prefix_cache_hits_total",
                "Prompt tokens found in the prefix cache",
                LoadSnapshot::prefixHitTokens);
        counter(
                registry,
                loads,
                "tandem_worker_preemptions_total",
                "Sequences preempted for KV space",
                LoadSnapshot::preemptions);
    }

    private static void gauge(
            PrometheusRegistry registry,
            Supplier<Collection<LoadSnapshot>> loads,
            String name,
            String help,
            ToDoubleFunction<LoadSnapshot> f) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help + " on each worker (its latest load snapshot)")
                .labelNames("worker")
                .callback(cb -> loads.get().forEach(s -> cb.call(f.applyAsDouble(s), s.workerId())))
                .register(registry);
    }

    /** A worker's own counter as its engine reports it: it restarts at 0 with the engine, which rate() allows. */
    private static void counter(
            PrometheusRegistry registry,
            Supplier<Collection<LoadSnapshot>> loads,
            String name,
            String help,
            ToDoubleFunction<LoadSnapshot> f) {
        CounterWithCallback.builder()
                .name(name)
                .help(help + " on each worker, since its engine started")
                .labelNames("worker")
                .callback(cb -> loads.get().forEach(s -> cb.call(f.applyAsDouble(s), s.workerId())))
                .register(registry);
    }
}
