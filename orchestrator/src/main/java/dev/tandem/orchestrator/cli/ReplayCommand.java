package dev.tandem.orchestrator.cli;

import dev.tandem.orchestrator.bench.MooncakeTrace;
import dev.tandem.orchestrator.bench.ReplayReport;
import dev.tandem.orchestrator.bench.TraceReplay;
import dev.tandem.orchestrator.bench.TraceRequest;
import dev.tandem.orchestrator.frontend.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tandem bench replay}: a trace through the real router and N sim workers on virtual time. Flags are a contract. */
@Command(
        name = "replay",
        mixinStandardHelpOptions = true,
        description = "Replay a Mooncake-format trace through the router and N sim workers on a virtual clock.")
public final class ReplayCommand implements Callable<Integer> {

    @Mixin
    RouterOption router;

    @Option(
            names = "--trace",
            required = true,
            description = "Trace file (JSON lines: timestamp, input_length, output_length, hash_ids).")
    Path trace;

    @Option(names = "--workers", defaultValue = "8", description = "Sim workers (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(
            names = "--time-scale",
            defaultValue = "1",
            description = "Divide the trace's timestamps by this (default: ${DEFAULT-VALUE}).")
    double timeScale;

    @Option(
            names = "--kv-blocks",
            defaultValue = "16384",
            description = "KV blocks per worker (default: ${DEFAULT-VALUE}).")
    int kvBlocks;

    @Option(
            names = "--block-size",
            defaultValue = "64",
            description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(
            names = "--seed",
            defaultValue = "0",
            description = "Seed of engines and randomised policies (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--no-kv-events",
            description = "Workers publish no KV events; the router predicts caches from its own decisions.")
    boolean noKvEvents;

    @Option(names = "--json", description = "Print the result as one JSON object on the last stdout line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        router.create(seed);
        List<TraceRequest> requests = MooncakeTrace.load(trace);
        System.err.printf(
                "tandem: replaying %d requests on %d sim workers, router %s, time scale %s%n",
                requests.size(), workers, router.name, timeScale);
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(
                        workers, router.name, timeScale, kvBlocks, blockSize, seed, !noKvEvents))
                .run(requests);
        if (r.requests() != requests.size()) {
            System.err.printf("tandem: only %d of %d requests completed%n", r.requests(), requests.size());
        }
        if (json) {
            System.out.println(Json.text(r.toJson()));
        } else {
            System.out.printf(
                    "router %s, %d workers, time scale %s: %d requests, %d tokens%n"
                            + "  TTFT ms  avg %.1f  p50 %.1f  p90 %.1f  p99 %.1f%n"
                            + "  ITL ms   avg %.2f  p50 %.2f  p90 %.2f  p99 %.2f%n"
                            + "  E2E ms   avg %.1f  p50 %.1f  p90 %.1f  p99 %.1f%n"
                            + "  throughput %.1f tok/s, prefix hit rate %.4f, load imbalance %.3f, preemptions %d"
                            + " (%.1f s wall)%n",
                    r.router(),
                    r.workers(),
                    r.timeScale(),
                    r.requests(),
                    r.completionTokens(),
                    r.ttftMs().avg(),
                    r.ttftMs().p50(),
                    r.ttftMs().p90(),
                    r.ttftMs().p99(),
                    r.itlMs().avg(),
                    r.itlMs().p50(),
                    r.itlMs().p90(),
                    r.itlMs().p99(),
                    r.e2eMs().avg(),
                    r.e2eMs().p50(),
                    r.e2eMs().p90(),
                    r.e2eMs().p99(),
                    r.throughputTokS(),
                    r.prefixHitRate(),
                    r.loadImbalance(),
                    r.preemptions(),
                    r.wallSeconds());
        }
        return r.requests() == requests.size() ? 0 : 1;
    }
}
