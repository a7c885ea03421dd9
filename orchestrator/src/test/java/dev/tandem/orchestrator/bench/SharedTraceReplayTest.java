package dev.tandem.orchestrator.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import dev.tandem.api.testing.SharedFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The project's shared Mooncake-format trace (3,993 requests) through the replay. Takes a few seconds. */
class SharedTraceReplayTest {

    @Test
    void oneWorkerWithAVastCacheReachesTheInfiniteCacheBoundOfTheSharedTrace() throws IOException {
        Path file = SharedFixtures.require("traces/mooncake_synthetic_trace.jsonl");
        List<TraceRequest> trace = MooncakeTrace.load(file);
        assertThat(trace).hasSize(3_993);
        double bound = SyntheticTraces.infiniteCacheHitRate(trace);
        assertThat(bound).as("the fixture's known bound").isCloseTo(0.6512, within(0.0005));

        // 4,000,000 blocks of 64 tokens hold every prompt of the trace: nothing is ever evicted.
        ReplayReport r = new TraceReplay(new TraceReplay.Settings(1, "round-robin", 1, 4_000_000, 64, 0)).run(trace);

        assertThat(r.requests()).isEqualTo(3_993);
        assertThat(r.completionTokens()).isEqualTo(SyntheticTraces.outputTokens(trace));
        assertThat(r.prefixHitRate()).isCloseTo(bound, withinPercentage(1));
        assertThat(r.preemptions()).isZero();
    }
}
