package dev.tandem.orchestrator.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.engine.sim.SimTimingModel;
import dev.tandem.orchestrator.router.RoutingPolicies;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Replays of small synthetic traces (written to disk and read back through {@link MooncakeTrace}) on sim workers.
 * Only virtual-time quantities are asserted; nothing depends on how fast the machine is.
 */
class TraceReplayTest {

    @TempDir
    Path dir;

    static Stream<String> routers() {
        return RoutingPolicies.names().stream();
    }

    private List<TraceRequest> onDisk(List<TraceRequest> trace) throws IOException {
        return MooncakeTrace.load(SyntheticTraces.write(dir.resolve("trace.jsonl"), trace));
    }

    /** 48 requests 3 ms apart, partial last blocks: queues build up on every worker. */
    private List<TraceRequest> burst(long seed) throws IOException {
        return onDisk(SyntheticTraces.generate(seed, 48, 3, false));
    }

    /** 40 requests a second apart, whole 512-token blocks: each finishes long before the next arrives. */
    private List<TraceRequest> spaced(long seed) throws IOException {
        return onDisk(SyntheticTraces.generate(seed, 40, 1_000, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routers")
    void everyRequestCompletesWithExactTokenAccounting(String router) throws IOException {
        List<TraceRequest> trace = burst(1);
        // 160 blocks of 64 tokens per worker: a few prompts at a time, so sequences get preempted and recomputed.
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(3, router, 1, 160, 64, 5)).run(trace);
        assertThat(r.requests()).isEqualTo(trace.size());
        assertThat(r.completionTokens()).isEqualTo(SyntheticTraces.outputTokens(trace));
        assertThat(r.prefixHitRate())
                .as("no cache can serve more than the infinite-cache bound")
                .isBetween(0.0, SyntheticTraces.infiniteCacheHitRate(trace));
        assertThat(r.loadImbalance()).isBetween(1.0, 3.0);
        assertThat(r.throughputTokS()).isPositive();
        assertThat(r.ttftMs().p50()).isLessThanOrEqualTo(r.ttftMs().p90());
        assertThat(r.ttftMs().p99()).isLessThanOrEqualTo(r.e2eMs().p99());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"random", "power-of-two", "cache-aware", "tandem"})
    void theSameTraceAndSeedGiveTheSameReport(String router) throws IOException {
        List<TraceRequest> trace = burst(2);
        TraceReplay.Settings s = new TraceReplay.Settings(3, router, 1, 160, 64, 11);
        ObjectNode first = new TraceReplay(s).run(trace).toJson();
        ObjectNode second = new TraceReplay(s)
                .run(MooncakeTrace.load(dir.resolve("trace.jsonl")))
                .toJson();
        assertThat(first.remove("wall_s")).isNotNull();
        assertThat(second.remove("wall_s")).isNotNull();
        assertThat(second).isEqualTo(first);
    }

    @Test
    void theJsonReportKeepsTheCliContract() throws IOException {
        List<TraceRequest> trace = burst(3);
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(2, "tandem", 2.5, 4096, 64, 0)).run(trace);
        ObjectNode j = r.toJson();
        assertThat(j.get("requests").asInt()).isEqualTo(48);
        assertThat(j.get("completion_tokens").asLong()).isEqualTo(SyntheticTraces.outputTokens(trace));
        for (String latency : List.of("ttft_ms", "itl_ms", "e2e_ms")) {
            for (String stat : List.of("avg", "p50", "p90", "p99")) {
                assertThat(j.at("/" + latency + "/" + stat).isNumber())
                        .as(latency + "." + stat)
                        .isTrue();
            }
        }
        assertThat(j.at("/ttft_ms/p50").asDouble()).isCloseTo(r.ttftMs().p50(), within(0.0005));
        assertThat(j.get("throughput_tok_s").asDouble()).isPositive();
        assertThat(j.get("prefix_hit_rate").asDouble()).isCloseTo(r.prefixHitRate(), within(1e-6));
        assertThat(j.get("load_imbalance").asDouble()).isCloseTo(r.loadImbalance(), within(1e-4));
        assertThat(j.get("router").asText()).isEqualTo("tandem");
        assertThat(j.get("workers").asInt()).isEqualTo(2);
        assertThat(j.get("time_scale").asDouble()).isEqualTo(2.5);
        assertThat(j.get("block_size").asInt()).isEqualTo(64);
        assertThat(j.get("kv_blocks").asInt()).isEqualTo(4096);
        assertThat(j.has("preemptions")).isTrue();
        assertThat(j.has("wall_s")).isTrue();
    }

    @Test
    void anIdleWorkerTakesExactlyTheModeledPrefillOfTheUncachedPartToTheFirstToken() throws IOException {
        List<TraceRequest> trace = spaced(4);
        long[] cached = SyntheticTraces.cachedBound(trace);
        double[] expected = new double[trace.size()];
        for (int i = 0; i < expected.length; i++) {
            // One prefill step on an idle worker; step durations are whole nanoseconds, truncated.
            int uncached = (int) (trace.get(i).inputLength() - cached[i]);
            expected[i] = (long) (SimTimingModel.prefillMillis(uncached) * 1e6) / 1e6;
        }
        LatencySummary want = LatencySummary.of(expected);
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(1, "round-robin", 1, 100_000, 64, 0)).run(trace);
        assertThat(r.ttftMs().avg()).isCloseTo(want.avg(), within(1e-9));
        assertThat(r.ttftMs().p50()).isCloseTo(want.p50(), within(1e-9));
        assertThat(r.ttftMs().p90()).isCloseTo(want.p90(), within(1e-9));
        assertThat(r.ttftMs().p99()).isCloseTo(want.p99(), within(1e-9));
        assertThat(r.ttftMs().p50())
                .as("cache hits shorten the prefill")
                .isLessThan(r.ttftMs().p99());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routers")
    void ttftIsNeverBelowTheModeledPrefillOfTheUncachedPart(String router) throws IOException {
        List<TraceRequest> trace = burst(5);
        long[] cached = SyntheticTraces.cachedBound(trace);
        double[] floor = new double[trace.size()];
        for (int i = 0; i < floor.length; i++) {
            // At least the tokens no cache could hold are computed. Prompts stay under 8,854 tokens, where splitting
            // a prefill over several steps never costs less than one step (each step pays 16.5 ms up front).
            floor[i] = SimTimingModel.prefillMillis((int) (trace.get(i).inputLength() - cached[i]));
        }
        // ttft_i ≥ floor_i for every request implies the same between their sorted values, so between the means
        // and every percentile. A microsecond of slack covers the truncation of step durations to nanoseconds.
        LatencySummary min = LatencySummary.of(floor);
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(2, router, 1, 4096, 64, 0)).run(trace);
        assertThat(r.requests()).isEqualTo(trace.size());
        assertThat(r.ttftMs().avg()).isGreaterThanOrEqualTo(min.avg() - 1e-3);
        assertThat(r.ttftMs().p50()).isGreaterThanOrEqualTo(min.p50() - 1e-3);
        assertThat(r.ttftMs().p90()).isGreaterThanOrEqualTo(min.p90() - 1e-3);
        assertThat(r.ttftMs().p99()).isGreaterThanOrEqualTo(min.p99() - 1e-3);
    }

    @Test
    void oneWorkerWithAVastCacheReachesTheInfiniteCachePrefixHitBound() throws IOException {
        List<TraceRequest> trace = spaced(6);
        double bound = SyntheticTraces.infiniteCacheHitRate(trace);
        assertThat(bound).as("the trace shares prefixes").isGreaterThan(0.3);
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(1, "round-robin", 1, 100_000, 64, 0)).run(trace);
        assertThat(r.requests()).isEqualTo(trace.size());
        assertThat(r.prefixHitRate()).isCloseTo(bound, withinPercentage(1));
        // Whole 512-token trace blocks are whole 64-token KV blocks, no prompt repeats a whole earlier one (so the
        // engine's "compute at least one token" rule never bites) and no two requests overlap in time: exact.
        assertThat(r.prefixHitRate()).isCloseTo(bound, within(1e-12));
    }

    @Test
    void requestsArrivingTogetherCannotShareAPrefixNotYetComputed() throws IOException {
        // The spaced trace again, but all at once: a prefix is reused only once it has been prefilled, so on one
        // worker the hit rate falls below the infinite-cache bound (while still completing everything).
        List<TraceRequest> spaced = SyntheticTraces.generate(6, 40, 1_000, true);
        List<TraceRequest> together = onDisk(spaced.stream()
                .map(t -> new TraceRequest(0, t.inputLength(), t.outputLength(), t.hashIds()))
                .toList());
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(1, "round-robin", 1, 100_000, 64, 0)).run(together);
        assertThat(r.requests()).isEqualTo(40);
        assertThat(r.completionTokens()).isEqualTo(SyntheticTraces.outputTokens(spaced));
        assertThat(r.prefixHitRate()).isLessThan(SyntheticTraces.infiniteCacheHitRate(spaced) - 0.01);
    }
}
