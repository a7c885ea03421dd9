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

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

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

    @Option(
            names = "--prefill-workers",
            description = "Sim prefill workers (with --decode-workers, instead of --workers): disaggregated serving.")
    Integer prefillWorkers;

    @Option(names = "--decode-workers", description = "Sim decode workers (with --prefill-workers).")
    Integer decodeWorkers;

    @Option(
            names = "--max-local-prefill-tokens",
            defaultValue = "1000",
            description = "Prompt tokens not cached on the decode worker above which a prompt is prefilled on a"
                    + " prefill worker; 0: every prompt (default: ${DEFAULT-VALUE}).")
    int maxLocalPrefillTokens;

    @Option(
            names = "--max-prefill-queue-tokens",
            description = "A prefill worker with this many prefill tokens queued takes no more (default: 4 x the"
                    + " engines' batched-token budget, 32768).")
    Long maxPrefillQueueTokens;

    @Option(
            names = "--transfer-gb-per-s",
            defaultValue = "64",
            description = "KV transfer bandwidth in GB/s (1e9 bytes), as Dynamo's mocker (default: ${DEFAULT-VALUE}).")
    double transferGbPerS;

    @Option(
            names = "--kv-bytes-per-token",
            defaultValue = "131072",
            description = "KV bytes per token moved (default: ${DEFAULT-VALUE}: an 8B Llama, 32 layers x 8 KV heads x"
                    + " 128 x K and V x bf16).")
    long kvBytesPerToken;

    @Option(names = "--ttft-slo-ms", description = "Goodput counts requests with a time to first token at most this.")
    Double ttftSloMs;

    @Option(
            names = "--itl-slo-ms",
            description = "Goodput counts requests with a mean inter-token latency at most this.")
    Double itlSloMs;

    @Override
    public Integer call() throws Exception {
        router.create(seed);
        List<TraceRequest> requests = MooncakeTrace.load(trace);
        System.err.printf(
                "tandem: replaying %d requests on %d sim workers, router %s, time scale %s%n",
                requests.size(), workers, router.name, timeScale);
        if ((prefillWorkers == null) != (decodeWorkers == null)) {
            throw new IllegalArgumentException("--prefill-workers and --decode-workers go together");
        }
        if (prefillWorkers != null && spec.commandLine().getParseResult().hasMatchedOption("--workers")) {
            throw new IllegalArgumentException("--workers is not allowed with --prefill-workers/--decode-workers");
        }
        TraceReplay.Disagg disagg = prefillWorkers == null
                ? null
                : new TraceReplay.Disagg(
                        prefillWorkers,
                        decodeWorkers,
                        maxLocalPrefillTokens,
                        maxPrefillQueueTokens == null ? 4L * 8192 : maxPrefillQueueTokens,
                        transferGbPerS,
                        kvBytesPerToken);
        TraceReplay.Slo slo = ttftSloMs == null && itlSloMs == null
                ? null
                : new TraceReplay.Slo(
                        ttftSloMs == null ? Double.POSITIVE_INFINITY : ttftSloMs,
                        itlSloMs == null ? Double.POSITIVE_INFINITY : itlSloMs);
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(
                        workers, router.name, timeScale, kvBlocks, blockSize, seed, !noKvEvents, disagg, slo))
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
                            + " (%.1f s wall)%n"
                            + "  goodput %.2f req/s (SLO attainment %.3f), KV moved %d bytes%n",
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
                    r.wallSeconds(),
                    r.goodput().goodputReqS(),
                    r.goodput().sloAttainment(),
                    r.goodput().kvTransferBytes());
        }
        return r.requests() == requests.size() ? 0 : 1;
    }
}
