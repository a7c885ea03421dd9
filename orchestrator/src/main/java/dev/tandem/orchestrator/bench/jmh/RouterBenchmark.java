package dev.tandem.orchestrator.bench.jmh;

import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.orchestrator.router.KvIndex;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingPolicies;
import dev.tandem.orchestrator.router.RoutingRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The router's hot paths at scale: 64 workers, about 1M indexed blocks (each worker holds 256 chains of 64 blocks,
 * and chains are shared by several workers, as popular prefixes are), a 4,096-token prompt at block size 64.
 * {@code findMatches} is the KV index lookup alone; {@code routeDecision} is a whole decision of the given policy
 * (index lookup, candidates, load bookkeeping) excluding prompt hashing, which {@code hashPrompt} measures.
 */
@State(Scope.Benchmark)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms4g", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class RouterBenchmark {

    static final int WORKERS = 64;
    static final int CHAINS_PER_WORKER = 256;
    static final int CHAIN_BLOCKS = 64;
    static final int BLOCK_SIZE = 64;
    static final int PROMPT_TOKENS = 4096;

    @Param({"tandem", "kv"})
    String policy;

    KvIndex index;
    Router router;
    List<String> workers;
    long[] promptHashes;
    int[] promptTokens;
    long requestSeq;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom rnd = new SplittableRandom(42);
        router = new Router(RoutingPolicies.create(policy, 42));
        index = router.index();
        workers = new ArrayList<>();
        // A pool of distinct chains; each worker draws 256 of them, so popular chains live on several workers.
        int poolSize = WORKERS * CHAINS_PER_WORKER / 4;
        long[][] pool = new long[poolSize][CHAIN_BLOCKS];
        for (long[] chain : pool) {
            for (int b = 0; b < CHAIN_BLOCKS; b++) {
                chain[b] = rnd.nextLong();
            }
        }
        for (int w = 0; w < WORKERS; w++) {
            String id = "worker-" + w;
            workers.add(id);
            List<KvEvent> events = new ArrayList<>();
            for (int c = 0; c < CHAINS_PER_WORKER; c++) {
                events.add(new KvEvent.BlockStored(null, pool[rnd.nextInt(poolSize)]));
            }
            index.apply(new KvEventBatch(id, 1, events));
        }
        // The prompt shares 40 leading blocks with a pooled chain, then diverges.
        promptHashes = pool[7].clone();
        for (int b = 40; b < CHAIN_BLOCKS; b++) {
            promptHashes[b] = rnd.nextLong();
        }
        promptTokens = new int[PROMPT_TOKENS];
        for (int i = 0; i < PROMPT_TOKENS; i++) {
            promptTokens[i] = rnd.nextInt(32000);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Map<String, Integer> findMatches() {
        return index.overlaps(promptHashes, workers);
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Router.Decision routeDecision() {
        String id = "r" + requestSeq++;
        Router.Decision d = router.route(new RoutingRequest(id, PROMPT_TOKENS, promptHashes, BLOCK_SIZE), workers);
        router.finish(id);
        return d;
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long[] hashPrompt() {
        return BlockHasher.unsalted().sequenceHashes(promptTokens, BLOCK_SIZE);
    }

    /** Applying KV events: each invocation stores 64 new blocks on one worker and removes the 64 stored before. */
    @State(Scope.Thread)
    public static class EventStream {
        final long[][] batches = new long[2][CHAIN_BLOCKS];
        long eventId = 1;
        int flip;
        final SplittableRandom rnd = new SplittableRandom(7);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(2 * CHAIN_BLOCKS)
    public boolean applyEvents(EventStream s) {
        long[] fresh = s.batches[s.flip];
        for (int b = 0; b < CHAIN_BLOCKS; b++) {
            fresh[b] = s.rnd.nextLong();
        }
        long[] old = s.batches[1 - s.flip];
        s.flip = 1 - s.flip;
        s.eventId++;
        return index.apply(new KvEventBatch(
                "worker-0", s.eventId, List.of(new KvEvent.BlockStored(null, fresh), new KvEvent.BlockRemoved(old))));
    }
}
