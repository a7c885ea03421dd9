package dev.tandem.orchestrator.cli;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.events.EventPlane;
import dev.tandem.orchestrator.metrics.MetricsEndpoint;
import dev.tandem.orchestrator.metrics.WorkerMetrics;
import dev.tandem.orchestrator.runtime.WorkerHost;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tandem worker}: one engine behind the gRPC request plane, registered in discovery under a lease, publishing
 * KV events and load on the event plane. SIGTERM deregisters, lets in-flight requests finish, then exits. Flags
 * are a contract.
 */
@Command(name = "worker", mixinStandardHelpOptions = true, description = "Run one worker (engine + request plane).")
public final class WorkerCommand implements Callable<Integer> {

    @Mixin
    PlaneOptions planes;

    @Mixin
    ConfigOption config;

    @Option(
            names = "--engine",
            defaultValue = "native",
            description =
                    "native, sim, openai (with --upstream URL), vllm, sglang or trtllm (runs a child server for --model M)"
                            + " (default: ${DEFAULT-VALUE}).")
    String engine;

    @Mixin
    EngineOptions engineOptions;

    @Mixin
    KvTierOptions tiers;

    @Option(
            names = "--role",
            defaultValue = "agg",
            description = "agg (prefill and decode), prefill (prefills prompts whose KV a decode worker pulls) or"
                    + " decode (default: ${DEFAULT-VALUE}).")
    String role;

    @Option(names = "--model", description = "Model (default: the engine's demo model).")
    String model;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Request-plane bind address (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(
            names = "--port",
            defaultValue = "0",
            description = "Request-plane port, 0 = ephemeral (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--metrics-port",
            defaultValue = "0",
            description = "Port of this worker's own Prometheus /metrics (on --host), 0 = ephemeral (printed at"
                    + " start), -1 = none (default: ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--instance-id", description = "Instance id (default: derived from the discovery lease).")
    String instanceId;

    @Option(names = "--block-size", defaultValue = "16", description = "KV block size (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--kv-blocks", defaultValue = "16384", description = "KV blocks (default: ${DEFAULT-VALUE}).")
    int kvBlocks;

    @Option(
            names = "--lease-ttl",
            defaultValue = "10",
            description = "Lease TTL in seconds (default: ${DEFAULT-VALUE}).")
    int leaseTtl;

    @Option(
            names = "--speedup",
            defaultValue = "1",
            description = "How much faster than real time the sim engine runs (default: ${DEFAULT-VALUE}).")
    double speedup;

    @Option(
            names = "--drain-seconds",
            defaultValue = "30",
            description = "On SIGTERM, how long in-flight requests may take (default: ${DEFAULT-VALUE}).")
    int drainSeconds;

    @Override
    public Integer call() throws Exception {
        java.util.Map<String, String> options = new java.util.HashMap<>(engineOptions.common(engine));
        var upstream = engineOptions.perUpstream(engine);
        if (upstream.size() > 1) {
            throw new IllegalArgumentException("a worker fronts one --upstream; start one worker per upstream");
        }
        upstream.forEach(options::putAll);
        engineOptions.perWorker(engine, 1).forEach(options::putAll);
        if (!WorkerHost.ROLES.contains(role)) {
            throw new IllegalArgumentException("--role must be one of " + WorkerHost.ROLES + ", not '" + role + "'");
        }
        Discovery d = planes.openDiscovery();
        EventPlane ev = planes.openEvents();
        Duration ttl = Duration.ofSeconds(leaseTtl);
        Lease lease = d.grantLease(ttl);
        String id = instanceId != null ? instanceId : "w" + Long.toHexString(lease.id());
        var connector = tiers.settings().create(id);
        Engine e = Engines.provider(engine)
                .create(EngineConfig.builder()
                        .workerId(id)
                        .model(model)
                        .blockSize(blockSize)
                        .kvBlocks(kvBlocks)
                        .speedup(speedup)
                        .options(options)
                        .kvEvents(WorkerHost.eventSink(ev, planes.namespace, id))
                        .kvConnector(connector)
                        .build());
        boolean transfers = connector != null && e.info().capabilities().disaggregation();
        if (connector != null && !transfers) {
            connector.close(); // this engine moves no KV blocks
        }
        // The KV transfer service shares the request plane's port.
        GrpcWorkerServer server =
                GrpcWorkerServer.start(e, host, port, transfers ? connector.services() : java.util.List.of());
        if (transfers) {
            connector.advertise(server.address());
        }
        MetricsEndpoint metrics =
                metricsPort < 0 ? null : MetricsEndpoint.start(host, metricsPort, WorkerMetrics.of(e)::scrape);
        WorkerHost worker = WorkerHost.start(planes.namespace, id, e, server.address(), d, ev, lease, ttl, role);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("tandem: worker " + id + " draining");
            worker.deregister();
            try {
                server.drain(drainSeconds);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            worker.close();
            server.close();
            if (metrics != null) {
                metrics.close();
            }
            ev.close();
            d.close();
            stopped.countDown();
        }));
        System.err.printf(
                "tandem: worker %s serves %s on %s (%s engine)%s%n",
                id,
                e.info().modelName(),
                server.address(),
                engine,
                metrics == null ? "" : "; metrics on http://" + host + ":" + metrics.port() + "/metrics");
        stopped.await();
        return 0;
    }
}
