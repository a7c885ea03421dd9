package dev.tandem.orchestrator.runtime;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.time.Clock;
import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.router.ApproximateIndex;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingPolicies;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The all-in-one deployment ({@code tandem serve}): the HTTP frontend, the router and N workers in one JVM, over
 * in-memory discovery and events and the in-process request plane. The same components as a cluster, wired
 * without a network.
 */
public final class EmbeddedCluster implements AutoCloseable {

    /**
     * @param engine engine provider name ({@code sim}, later {@code native})
     * @param model model reference, or null for the provider's demo model
     * @param options provider options of every worker
     * @param workerOptions per-worker options on top of {@code options} (worker i gets entry i; e.g. its upstream),
     *     empty for none
     */
    public record Settings(
            FrontendConfig frontend,
            int workers,
            String engine,
            String model,
            String router,
            int blockSize,
            int kvBlocks,
            double speedup,
            Map<String, String> options,
            boolean kvEvents,
            List<Map<String, String>> workerOptions,
            int prefillWorkers,
            int decodeWorkers,
            KvConnectorSettings kvConnectors) {

        public Settings {
            workerOptions = List.copyOf(workerOptions);
            if (prefillWorkers < 0 || decodeWorkers < 0) {
                throw new IllegalArgumentException("--prefill-workers and --decode-workers must be >= 0");
            }
            if ((prefillWorkers > 0) != (decodeWorkers > 0)) {
                throw new IllegalArgumentException("--prefill-workers and --decode-workers go together");
            }
            if (prefillWorkers > 0) {
                workers = prefillWorkers + decodeWorkers;
            }
            if (!workerOptions.isEmpty() && workerOptions.size() != workers) {
                throw new IllegalArgumentException("one entry of worker options per worker");
            }
        }

        public Settings(
                FrontendConfig frontend,
                int workers,
                String engine,
                String model,
                String router,
                int blockSize,
                int kvBlocks,
                double speedup,
                Map<String, String> options,
                boolean kvEvents,
                List<Map<String, String>> workerOptions) {
            this(
                    frontend,
                    workers,
                    engine,
                    model,
                    router,
                    blockSize,
                    kvBlocks,
                    speedup,
                    options,
                    kvEvents,
                    workerOptions,
                    0,
                    0,
                    KvConnectorSettings.PEER_ONLY);
        }

        /** Worker {@code i}'s role: prefill workers first, then decode workers; all aggregated without a split. */
        String roleOf(int i) {
            if (prefillWorkers == 0) {
                return "agg";
            }
            return i < prefillWorkers ? "prefill" : "decode";
        }

        /** Worker {@code i}'s instance id. */
        String idOf(int i) {
            return switch (roleOf(i)) {
                case "prefill" -> "prefill-" + i;
                case "decode" -> "decode-" + (i - prefillWorkers);
                default -> "worker-" + i;
            };
        }

        public Settings(
                FrontendConfig frontend,
                int workers,
                String engine,
                String model,
                String router,
                int blockSize,
                int kvBlocks,
                double speedup,
                Map<String, String> options,
                boolean kvEvents) {
            this(frontend, workers, engine, model, router, blockSize, kvBlocks, speedup, options, kvEvents, List.of());
        }

        /** The options of worker {@code i}. */
        Map<String, String> optionsOf(int i) {
            if (workerOptions.isEmpty()) {
                return options;
            }
            Map<String, String> merged = new java.util.HashMap<>(options);
            merged.putAll(workerOptions.get(i));
            return merged;
        }

        public Settings(
                FrontendConfig frontend,
                int workers,
                String engine,
                String model,
                String router,
                int blockSize,
                int kvBlocks,
                double speedup,
                Map<String, String> options) {
            this(frontend, workers, engine, model, router, blockSize, kvBlocks, speedup, options, true);
        }
    }

    private final Discovery discovery;
    private final EventPlane events;
    private final List<WorkerHost> hosts = new ArrayList<>();
    /** Each worker's KV transfer server (the embedded request plane is in-process; peer transfers use gRPC). */
    private final List<dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer> transferServers = new ArrayList<>();

    private final WorkerPool pool;
    private final Router router;
    private final Frontend frontend;

    private EmbeddedCluster(Settings s) throws IOException {
        if (s.workers() < 1) {
            throw new IllegalArgumentException("--workers must be at least 1");
        }
        var policy = RoutingPolicies.create(s.router());
        EngineProvider provider = Engines.provider(s.engine());
        discovery = DiscoveryProvider.open(URI.create("memory:local"));
        events = EventPlaneProvider.open(URI.create("memory:local"));
        InProcessRequestPlane plane = new InProcessRequestPlane();
        String ns = DiscoveryKeys.DEFAULT_NAMESPACE;
        List<Engine> engines = new ArrayList<>();
        try {
            for (int i = 0; i < s.workers(); i++) {
                String id = s.idOf(i);
                var connector = s.kvConnectors().create(id);
                Engine engine = provider.create(EngineConfig.builder()
                        .workerId(id)
                        .model(s.model())
                        .blockSize(s.blockSize())
                        .kvBlocks(s.kvBlocks())
                        .speedup(s.speedup())
                        .kvEvents(s.kvEvents() ? WorkerHost.eventSink(events, ns, id) : KvEventSink.NONE)
                        .options(s.optionsOf(i))
                        .kvConnector(connector)
                        .build());
                engines.add(engine);
                if (connector != null && !engine.info().capabilities().disaggregation()) {
                    connector.close(); // an engine that moves no KV blocks (sim, external) left it unused
                } else if (connector != null && !connector.services().isEmpty()) {
                    var server = dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer.start(
                            null, "127.0.0.1", 0, connector.services());
                    transferServers.add(server);
                    connector.advertise(server.address());
                }
            }
        } catch (RuntimeException | IOException e) {
            engines.forEach(Engine::close);
            transferServers.forEach(dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer::close);
            events.close();
            discovery.close();
            throw e;
        }
        // Engines that publish no KV events (a plain OpenAI-compatible upstream) leave the router to predict caches
        // from its own decisions, as --no-kv-events does.
        boolean exact = s.kvEvents()
                && engines.stream().allMatch(e -> e.info().capabilities().kvEvents());
        router = exact
                ? new Router(policy)
                : Router.approximate(policy, Clock.system(), ApproximateIndex.DEFAULT_TTL, s.kvBlocks());
        for (int i = 0; i < engines.size(); i++) {
            String id = s.idOf(i);
            String address = plane.bind(id, engines.get(i));
            hosts.add(WorkerHost.start(
                    ns, id, engines.get(i), address, discovery, events, Duration.ofSeconds(10), s.roleOf(i)));
        }
        frontend = Frontend.start(s.frontend(), ns, s.blockSize(), router, discovery, events, plane::connect, null);
        pool = frontend.pool();
        awaitWorkers(s.workers());
    }

    /** Builds and starts everything; the HTTP port is bound when this returns. */
    public static EmbeddedCluster start(Settings settings) throws IOException {
        return new EmbeddedCluster(settings);
    }

    private void awaitWorkers(int n) throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (pool.size() < n) {
            if (System.nanoTime() > deadline) {
                throw new IOException("only " + pool.size() + " of " + n + " workers registered");
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    public int port() {
        return frontend.port();
    }

    public Router router() {
        return router;
    }

    public WorkerPool pool() {
        return pool;
    }

    public List<WorkerHost> workers() {
        return List.copyOf(hosts);
    }

    /** The workers' KV transfer servers (one per worker whose engine transfers KV), in worker order. */
    public List<dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer> transferServers() {
        return List.copyOf(transferServers);
    }

    /** The frontend's graceful stop ({@link Frontend#drain}); the workers keep serving until {@link #close()}. */
    public boolean drain(java.time.Duration timeout) throws InterruptedException {
        return frontend == null || frontend.drain(timeout);
    }

    @Override
    public void close() {
        if (frontend != null) {
            frontend.close();
        }
        hosts.forEach(WorkerHost::close);
        transferServers.forEach(dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer::close);
        events.close();
        discovery.close();
    }
}
