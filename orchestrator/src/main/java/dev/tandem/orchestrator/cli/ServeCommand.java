package dev.tandem.orchestrator.cli;

import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tandem serve}: the embedded all-in-one server. Its flags are a contract. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Serve the OpenAI API with N in-process workers (in-memory discovery and events).")
public final class ServeCommand implements Callable<Integer> {

    @Mixin
    RouterOption router;

    @Mixin
    ConfigOption config;

    @Mixin
    HttpOptions http;

    @Mixin
    EngineOptions engineOptions;

    @Mixin
    DisaggOptions disagg;

    @Mixin
    KvTierOptions tiers;

    @Option(
            names = "--prefill-workers",
            description = "In-process prefill workers (with --decode-workers; not with --workers): prompts are"
                    + " prefilled there and their KV moved to a decode worker.")
    Integer prefillWorkers;

    @Option(names = "--decode-workers", description = "In-process decode workers (with --prefill-workers).")
    Integer decodeWorkers;

    @Option(
            names = "--workers",
            description = "In-process workers (default: 2; 1 with --engine cuda, whose worker i computes on GPU"
                    + " --device + i; with --engine openai, one per --upstream and the flag is not allowed).")
    Integer workers;

    @Option(
            names = "--engine",
            defaultValue = "native",
            description = "Engine of every worker: native (built-in engine, CPU compute), sim (built-in engine,"
                    + " timing model), openai (an OpenAI-compatible server per --upstream), vllm, sglang or trtllm (a"
                    + " vLLM, SGLang or TensorRT-LLM child per worker) (default:"
                    + " ${DEFAULT-VALUE}).")
    String engine;

    @Option(
            names = "--model",
            description = "Model to serve: a llama2.c checkpoint, a Hugging Face directory or random:SHAPE"
                    + " (default: the engine's demo model).")
    String model;

    @Option(
            names = "--block-size",
            defaultValue = "16",
            description = "KV block size in tokens (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(
            names = "--kv-blocks",
            defaultValue = "16384",
            description = "KV blocks per worker (default: ${DEFAULT-VALUE}).")
    int kvBlocks;

    @Option(
            names = "--speedup",
            defaultValue = "1",
            description = "How much faster than real time the sim engine runs (default: ${DEFAULT-VALUE}).")
    double speedup;

    @Option(
            names = "--no-kv-events",
            description = "Workers publish no KV events; the router predicts caches from its own decisions.")
    boolean noKvEvents;

    @Override
    public Integer call() throws Exception {
        router.create(0); // fail fast on an unknown name
        FrontendConfig fc = http.config(FrontendConfig.DEFAULT_MIGRATION_LIMIT).withDisaggregation(disagg.settings());
        if ((prefillWorkers != null || decodeWorkers != null) && workers != null) {
            throw new IllegalArgumentException(
                    "--workers is not allowed with --prefill-workers/--decode-workers (they give the count)");
        }
        if ((prefillWorkers == null) != (decodeWorkers == null)) {
            throw new IllegalArgumentException("--prefill-workers and --decode-workers go together");
        }
        if (prefillWorkers != null && (prefillWorkers < 1 || decodeWorkers < 1)) {
            throw new IllegalArgumentException("--prefill-workers and --decode-workers must be >= 1");
        }
        Map<String, String> options = engineOptions.common(engine);
        List<Map<String, String>> upstreams = engineOptions.perUpstream(engine);
        if (!upstreams.isEmpty() && workers != null) {
            throw new IllegalArgumentException(
                    "--workers is not allowed with --engine " + engine + ": each --upstream is one worker");
        }
        int n = !upstreams.isEmpty()
                ? upstreams.size()
                : prefillWorkers != null
                        ? prefillWorkers + decodeWorkers
                        : workers != null ? workers : engine.equals("cuda") ? 1 : 2;
        List<Map<String, String>> perWorker = engineOptions.perWorker(engine, n);
        EmbeddedCluster cluster = EmbeddedCluster.start(new EmbeddedCluster.Settings(
                fc,
                n,
                engine,
                model,
                router.name,
                blockSize,
                kvBlocks,
                speedup,
                options,
                !noKvEvents,
                perWorker,
                prefillWorkers == null ? 0 : prefillWorkers,
                decodeWorkers == null ? 0 : decodeWorkers,
                tiers.settings()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("tandem: shutting down (draining)");
            http.drainOnShutdown(cluster::drain);
            cluster.close();
            stopped.countDown();
        }));
        System.err.printf(
                "tandem: serving %s on http://%s:%d/v1 with %s %s worker(s), router %s%n",
                cluster.pool().models(),
                http.host,
                cluster.port(),
                prefillWorkers == null ? n : prefillWorkers + " prefill + " + decodeWorkers + " decode",
                engine,
                router.name);
        stopped.await();
        return 0;
    }
}
