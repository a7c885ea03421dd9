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
     */
    public record Settings(
            int workers, String router, double timeScale, int kvBlocks, int blockSize, long seed, boolean kvEvents) {

        public Settings(int workers, String router, double timeScale, int kvBlocks, int blockSize, long seed) {
            this(workers, router, timeScale, kvBlocks, blockSize, seed, true);
        }

        public Settings {
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

    static final int VOCAB = 32000;
    static final int CONTEXT = 1 << 21;

    private record Event(long time, long order, int worker, int request) {}

    private static final class Outcome {
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
        for (int w = 0; w < settings.workers(); w++) {
            String id = "worker-" + w;
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
                    .build()));
        }
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
            if (e.worker < 0) {
                TraceRequest t = trace.get(e.request);
                int[] prompt = prompts.prompt(t, e.request);
                String requestId = "r" + e.request;
                long[] hashes = hasher.sequenceHashes(prompt, settings.blockSize());
                Router.Decision d =
                        router.route(new RoutingRequest(requestId, prompt.length, hashes, settings.blockSize()), ids);
                int w = ids.indexOf(d.workerId());
                Outcome o = new Outcome();
                o.arrival = e.time;
                outcomes[e.request] = o;
                routedTokens[w] += prompt.length;
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
                    o.cached = d.usage().cachedPromptTokens();
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
            if (o.tokens > 1) {
                itl.add((o.last - o.first) / 1e6 / (o.tokens - 1));
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
                wallSeconds);
    }

    private static double[] toArray(List<Double> values) {
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
