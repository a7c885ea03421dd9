package dev.tandem.orchestrator.bench;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.SteppedEngine;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.time.ManualClock;
import dev.tandem.orchestrator.router.ApproximateIndex;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingPolicies;
import dev.tandem.orchestrator.router.RoutingRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Replays a trace through the real router and the real engine scheduler ({@code sim} workers) as a discrete-event
 * simulation on virtual time: one thread, no sleeping, exactly reproducible. Arrivals are routed when they happen;
 * each worker runs one step at a time, and a step's tokens and KV events take effect when its modeled duration
 * has passed.
 */
public final class TraceReplay {

    /**
     * @param workers sim workers
     * @param router policy name
     * @param timeScale trace timestamps are divided by this
     * @param kvBlocks KV capacity of each worker, in blocks
     * @param blockSize tokens per KV block (router and engines)
     * @param seed seed of the engines and of randomised policies
     * @param kvEvents whether workers publish KV events; without them the router runs in approximate mode
     * @param disagg prefill/decode split and transfer model; null for aggregated workers
     * @param slo the latency limits goodput counts against; null for none (every completed request counts)
     */
    public record Settings(
            int workers,
            String router,
            double timeScale,
            int kvBlocks,
            int blockSize,
            long seed,
            boolean kvEvents,
            Disagg disagg,
            Slo slo) {

        public Settings(int workers, String router, double timeScale, int kvBlocks, int blockSize, long seed) {
            this(workers, router, timeScale, kvBlocks, blockSize, seed, true);
        }

        public Settings(
                int workers,
                String router,
                double timeScale,
                int kvBlocks,
                int blockSize,
                long seed,
                boolean kvEvents) {
            this(workers, router, timeScale, kvBlocks, blockSize, seed, kvEvents, null, null);
        }

        public Settings {
            if (disagg != null) {
                workers = disagg.prefillWorkers() + disagg.decodeWorkers();
            }
            if (workers < 1) {
                throw new IllegalArgumentException("--workers must be at least 1");
            }
            if (!(timeScale > 0)) {
                throw new IllegalArgumentException("--time-scale must be > 0");
            }
            if (kvBlocks < 1 || blockSize < 1) {
                throw new IllegalArgumentException("--kv-blocks and --block-size must be >= 1");
            }
        }
    }

    /**
     * Disaggregated workers and the transfer model (Dynamo's mocker: transfer time = bytes ÷ bandwidth).
     *
     * @param maxLocalPrefillTokens as the frontend's flag: 0 sends every prefill to a prefill worker
     * @param maxPrefillQueueTokens a prefill worker with this many prefill tokens queued takes no more
     * @param transferGbPerS KV transfer bandwidth, 1e9 bytes per second
     * @param kvBytesPerToken KV bytes per token moved
     */
    public record Disagg(
            int prefillWorkers,
            int decodeWorkers,
            int maxLocalPrefillTokens,
            long maxPrefillQueueTokens,
            double transferGbPerS,
            long kvBytesPerToken) {

        public static final double DEFAULT_TRANSFER_GB_PER_S = 64;
        public static final long DEFAULT_KV_BYTES_PER_TOKEN = 131_072;

        public Disagg {
            if (prefillWorkers < 1 || decodeWorkers < 1) {
                throw new IllegalArgumentException("--prefill-workers and --decode-workers must be >= 1");
            }
            if (!(transferGbPerS > 0) || kvBytesPerToken < 1 || maxLocalPrefillTokens < 0) {
                throw new IllegalArgumentException(
                        "--transfer-gb-per-s and --kv-bytes-per-token must be > 0, --max-local-prefill-tokens >= 0");
            }
        }
    }

    /** Latency limits a request must meet to count toward goodput (mean ITL: over its tokens after the first). */
    public record Slo(double ttftMs, double itlMs) {}

    static final int VOCAB = 32000;
    static final int CONTEXT = 1 << 21;

    private record Event(long time, long order, int worker, int request) {}

    private static final class Outcome {
        int firstToken;
        int prefillCached;
        int[] prompt;
        int outputLength;
        String decoder;
        int cachedOnDecoder;
        long arrival;
        long first = -1;
        long last;
        int tokens;
        int cached;
        boolean done;
    }

    private final Settings settings;
    private final ManualClock clock = new ManualClock();
    private final PriorityQueue<Event> events = new PriorityQueue<>(
            (a, b) -> a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.order, b.order));
    private long order;

    public TraceReplay(Settings settings) {
        this.settings = settings;
    }

    public ReplayReport run(List<TraceRequest> trace) {
        long wallStart = System.nanoTime();
        var policy = RoutingPolicies.create(settings.router(), settings.seed());
        Router router = settings.kvEvents()
                ? new Router(policy)
                : Router.approximate(policy, clock, ApproximateIndex.DEFAULT_TTL, settings.kvBlocks());
        router.resyncOn(Runnable::run); // one thread on virtual time: nothing may happen behind its back
        EngineProvider sim = Engines.provider("sim");
        List<SteppedEngine> engines = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        Disagg dis = settings.disagg();
        for (int w = 0; w < settings.workers(); w++) {
            String id = dis == null
                    ? "worker-" + w
                    : w < dis.prefillWorkers() ? "prefill-" + w : "decode-" + (w - dis.prefillWorkers());
            ids.add(id);
            engines.add(sim.createStepped(EngineConfig.builder()
                    .workerId(id)
                    .blockSize(settings.blockSize())
                    .kvBlocks(settings.kvBlocks())
                    .seed(settings.seed())
                    .clock(clock)
                    .kvEvents(
                            settings.kvEvents() ? batch -> router.onKvEvents(batch, this::noResync) : KvEventSink.NONE)
                    .options(Map.of("vocab-size", String.valueOf(VOCAB), "context-length", String.valueOf(CONTEXT)))
                    .kvConnector(dis == null ? null : new SimulatedTransfer())
                    .build()));
        }
        List<String> prefillIds = dis == null ? List.of() : ids.subList(0, dis.prefillWorkers());
        List<String> decodeIds = dis == null ? ids : ids.subList(dis.prefillWorkers(), ids.size());
        boolean[] busy = new boolean[engines.size()];
        long[] routedTokens = new long[engines.size()];
        Outcome[] outcomes = new Outcome[trace.size()];
        TracePrompts prompts = new TracePrompts(VOCAB);
        BlockHasher hasher = BlockHasher.unsalted();

        for (int i = 0; i < trace.size(); i++) {
            long at = Math.round(trace.get(i).timestampMs() * 1e6 / settings.timeScale());
            events.add(new Event(at, order++, -1, i));
        }
        while (!events.isEmpty()) {
            Event e = events.poll();
            clock.advanceTo(e.time);
            if (e.worker == TRANSFERRED) {
                decodeAfterTransfer(e.request, outcomes[e.request], engines, busy, ids, router);
            } else if (e.worker < 0) {
                TraceRequest t = trace.get(e.request);
                int[] prompt = prompts.prompt(t, e.request);
                String requestId = "r" + e.request;
                long[] hashes = hasher.sequenceHashes(prompt, settings.blockSize());
                RoutingRequest routing = new RoutingRequest(requestId, prompt.length, hashes, settings.blockSize());
                Router.Decision d = router.route(routing, decodeIds);
                Outcome o = new Outcome();
                o.arrival = e.time;
                o.prompt = prompt;
                o.outputLength = t.outputLength();
                o.decoder = d.workerId();
                o.cachedOnDecoder = Math.min(prompt.length, d.overlapBlocks() * settings.blockSize());
                outcomes[e.request] = o;
                String prefiller = dis == null || t.outputLength() < 2
                        ? null
                        : prefillWorker(router, requestId + "/prefill", o, hashes, prefillIds);
                int w = ids.indexOf(prefiller != null ? prefiller : d.workerId());
                routedTokens[w] += prompt.length;
                if (prefiller != null) {
                    // One token on the prefill worker with "decode elsewhere"; the decoder continues after the
                    // transfer.
                    String pid = requestId + "/prefill";
                    engines.get(w)
                            .add(
                                    new GenerateRequest(
                                            pid,
                                            prompt,
                                            SamplingParams.GREEDY,
                                            StopConditions.maxTokens(1).withIgnoreEos(true)),
                                    prefillListener(router, pid, e.request, o),
                                    e.time);
                } else {
                    engines.get(w)
                            .add(
                                    new GenerateRequest(
                                            requestId,
                                            prompt,
                                            SamplingParams.GREEDY,
                                            StopConditions.maxTokens(t.outputLength())
                                                    .withIgnoreEos(true)),
                                    listener(router, requestId, o),
                                    e.time);
                }
                if (!busy[w]) {
                    startStep(engines, busy, w);
                }
            } else {
                engines.get(e.worker).completeStep();
                startStep(engines, busy, e.worker);
            }
        }
        return report(trace, outcomes, routedTokens, engines, (System.nanoTime() - wallStart) / 1e9);
    }

    /** The event kind of a transfer that completed (events of workers carry their index, arrivals -1). */
    private static final int TRANSFERRED = -2;

    private long transferBytes;

    /**
     * The prefill worker for a request, or null to prefill on its decoder: as the frontend decides, every prompt
     * when {@code maxLocalPrefillTokens} is 0, else a prompt whose tokens not cached on the decoder exceed it, on a
     * prefill worker with fewer than {@code maxPrefillQueueTokens} queued.
     */
    private String prefillWorker(Router router, String routingId, Outcome o, long[] hashes, List<String> prefillIds) {
        Disagg dis = settings.disagg();
        int uncached = o.prompt.length - o.cachedOnDecoder;
        List<String> choices = new ArrayList<>();
        if (dis.maxLocalPrefillTokens() == 0) {
            choices.addAll(prefillIds);
        } else if (uncached > dis.maxLocalPrefillTokens()) {
            for (String id : prefillIds) {
                if (router.load().of(id).prefillTokens() < dis.maxPrefillQueueTokens()) {
                    choices.add(id);
                }
            }
        }
        if (choices.isEmpty()) {
            return null;
        }
        return router.route(new RoutingRequest(routingId, o.prompt.length, hashes, settings.blockSize()), choices)
                .workerId();
    }

    /** The prefill's token arrived: its KV (the prompt's tokens the decoder lacks) moves, then the decoder goes on. */
    private TokenListener prefillListener(Router router, String pid, int index, Outcome o) {
        return new TokenListener() {
            @Override
            public void onDelta(TokenDelta d) {
                if (!d.isFinal()) {
                    return;
                }
                router.firstToken(pid);
                router.finish(pid);
                Disagg dis = settings.disagg();
                long bytes = (long) (o.prompt.length - o.cachedOnDecoder) * dis.kvBytesPerToken();
                transferBytes += bytes;
                long nanos = Math.round(bytes / (dis.transferGbPerS() * 1e9) * 1e9);
                o.firstToken = d.tokenIds().length > 0 ? d.tokenIds()[0] : 0;
                o.prefillCached = d.usage().cachedPromptTokens();
                events.add(new Event(clock.nanos() + nanos, order++, TRANSFERRED, index));
            }

            @Override
            public void onError(EngineException error) {
                throw error;
            }
        };
    }

    /**
     * The transfer is done: the stream's first token (the prefill's) is out now, and the decoder continues the
     * prompt plus that token with the prompt's KV in place.
     */
    private void decodeAfterTransfer(
            int index, Outcome o, List<SteppedEngine> engines, boolean[] busy, List<String> ids, Router router) {
        long now = clock.nanos();
        o.first = now;
        o.last = now;
        o.tokens = 1;
        o.cached = o.prefillCached;
        String requestId = "r" + index;
        router.firstToken(requestId);
        if (o.outputLength <= 1) {
            o.done = true;
            router.finish(requestId);
            return;
        }
        int[] seq = java.util.Arrays.copyOf(o.prompt, o.prompt.length + 1);
        seq[o.prompt.length] = o.firstToken;
        int w = ids.indexOf(o.decoder);
        engines.get(w)
                .add(
                        new GenerateRequest(
                                requestId,
                                seq,
                                SamplingParams.GREEDY,
                                StopConditions.maxTokens(o.outputLength - 1).withIgnoreEos(true),
                                null,
                                null,
                                SimulatedTransfer.params(o.prompt.length)),
                        listener(router, requestId, o),
                        now);
        if (!busy[w]) {
            startStep(engines, busy, w);
        }
    }

    private dev.tandem.api.kv.KvStateDump noResync(String workerId) {
        throw new IllegalStateException("KV events are delivered in order within a replay; no re-sync expected");
    }

    private void startStep(List<SteppedEngine> engines, boolean[] busy, int w) {
        long nanos = engines.get(w).hasWork() ? engines.get(w).beginStep() : -1;
        if (nanos < 0) {
            busy[w] = false;
            return;
        }
        busy[w] = true;
        events.add(new Event(clock.nanos() + nanos, order++, w, -1));
    }

    private TokenListener listener(Router router, String requestId, Outcome o) {
        return new TokenListener() {
            @Override
            public void onDelta(TokenDelta d) {
                long now = clock.nanos();
                if (d.tokenIds().length > 0) {
                    if (o.first < 0) {
                        o.first = now;
                        router.firstToken(requestId);
                    }
                    o.last = now;
                    o.tokens += d.tokenIds().length;
                }
                if (d.isFinal()) {
                    o.done = true;
                    // After a remote prefill the cache that counts is the prefill worker's (set at the transfer).
                    o.cached = Math.max(o.cached, Math.min(d.usage().cachedPromptTokens(), o.prompt.length));
                    router.finish(requestId);
                }
            }

            @Override
            public void onError(EngineException error) {
                throw error;
            }
        };
    }

    private ReplayReport report(
            List<TraceRequest> trace,
            Outcome[] outcomes,
            long[] routedTokens,
            List<SteppedEngine> engines,
            double wallSeconds) {
        int n = 0;
        long tokens = 0;
        long promptTokens = 0;
        long cachedTokens = 0;
        long firstArrival = Long.MAX_VALUE;
        long lastDone = Long.MIN_VALUE;
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        int good = 0;
        Slo slo = settings.slo();
        for (int i = 0; i < outcomes.length; i++) {
            Outcome o = outcomes[i];
            if (o == null || !o.done) {
                continue;
            }
            n++;
            tokens += o.tokens;
            promptTokens += trace.get(i).inputLength();
            cachedTokens += o.cached;
            firstArrival = Math.min(firstArrival, o.arrival);
            lastDone = Math.max(lastDone, o.last);
            ttft.add((o.first - o.arrival) / 1e6);
            e2e.add((o.last - o.arrival) / 1e6);
            double meanItl = o.tokens > 1 ? (o.last - o.first) / 1e6 / (o.tokens - 1) : 0;
            if (o.tokens > 1) {
                itl.add(meanItl);
            }
            if (slo == null || (o.first - o.arrival) / 1e6 <= slo.ttftMs() && meanItl <= slo.itlMs()) {
                good++;
            }
        }
        double max = 0;
        double sum = 0;
        for (long t : routedTokens) {
            max = Math.max(max, t);
            sum += t;
        }
        double mean = sum / routedTokens.length;
        long preemptions = 0;
        for (SteppedEngine e : engines) {
            preemptions += e.preemptions();
        }
        double seconds = lastDone > firstArrival ? (lastDone - firstArrival) / 1e9 : 0;
        Disagg dis = settings.disagg();
        ReplayReport.Goodput goodput = new ReplayReport.Goodput(
                seconds > 0 ? good / seconds : 0,
                n == 0 ? 0 : (double) good / n,
                slo,
                dis == null ? 0 : dis.prefillWorkers(),
                dis == null ? settings.workers() : dis.decodeWorkers(),
                transferBytes,
                dis == null ? Disagg.DEFAULT_KV_BYTES_PER_TOKEN : dis.kvBytesPerToken());
        return new ReplayReport(
                settings.router(),
                settings.workers(),
                settings.timeScale(),
                n,
                tokens,
                LatencySummary.of(toArray(ttft)),
                LatencySummary.of(toArray(itl)),
                LatencySummary.of(toArray(e2e)),
                seconds > 0 ? tokens / seconds : 0,
                promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens,
                mean == 0 ? 0 : max / mean,
                preemptions,
                settings.blockSize(),
                settings.kvBlocks(),
                wallSeconds,
                goodput);
    }

    private static double[] toArray(List<Double> values) {
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
