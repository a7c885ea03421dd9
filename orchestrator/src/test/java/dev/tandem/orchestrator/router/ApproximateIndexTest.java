package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.time.ManualClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApproximateIndexTest {

    private final ManualClock clock = new ManualClock();

    @Test
    void aRoutedPrefixIsBelievedCachedUntilItsTtlPasses() {
        ApproximateIndex index = new ApproximateIndex(clock, Duration.ofSeconds(120), 1000);
        index.record("a", new long[] {1, 2, 3});
        clock.advanceNanos(Duration.ofSeconds(119).toNanos());
        assertThat(index.overlaps(new long[] {1, 2, 3, 4}, List.of("a", "b")))
                .containsExactlyEntriesOf(java.util.Map.of("a", 3));
        clock.advanceNanos(Duration.ofSeconds(2).toNanos());
        assertThat(index.overlaps(new long[] {1, 2, 3}, List.of("a"))).isEmpty();
        assertThat(index.blockCount("a")).isZero();
    }

    @Test
    void routingAgainRefreshesTheTtlButLookupsDoNot() {
        ApproximateIndex index = new ApproximateIndex(clock, Duration.ofSeconds(10), 1000);
        index.record("a", new long[] {1, 2});
        clock.advanceNanos(Duration.ofSeconds(8).toNanos());
        index.overlaps(new long[] {1, 2}, List.of("a"));
        index.record("a", new long[] {1});
        clock.advanceNanos(Duration.ofSeconds(5).toNanos());
        assertThat(index.overlaps(new long[] {1, 2}, List.of("a"))).containsEntry("a", 1);
    }

    @Test
    void beyondTheSizeBoundTheLeastRecentlyRoutedBlocksAreForgotten() {
        ApproximateIndex index = new ApproximateIndex(clock, Duration.ofSeconds(100), 4);
        index.record("a", new long[] {1, 2, 3});
        index.record("a", new long[] {1, 7, 8});
        assertThat(index.blockCount("a")).isEqualTo(4);
        assertThat(index.overlaps(new long[] {1, 7, 8}, List.of("a"))).containsEntry("a", 3);
        assertThat(index.overlaps(new long[] {1, 2, 3}, List.of("a")))
                .as("block 2 was the least recently routed, then evicted")
                .containsEntry("a", 1);
    }

    @Test
    void approximateRouterSendsARepeatedPromptBackWithoutAnyKvEvent() {
        Router router = Router.approximate(new KvAwarePolicy(), clock, Duration.ofSeconds(120), 10_000);
        RoutingRequest first = new RoutingRequest("r1", 640, new long[] {11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 64);
        String w = router.route(first, List.of("a", "b")).workerId();
        router.finish("r1");
        RoutingRequest again = new RoutingRequest("r2", 640, first.blockHashes(), 64);
        Router.Decision d = router.route(again, List.of("a", "b"));
        assertThat(d.workerId()).isEqualTo(w);
        assertThat(d.overlapBlocks()).isEqualTo(10);
        router.finish("r2");
        clock.advanceNanos(Duration.ofSeconds(121).toNanos());
        assertThat(router.route(new RoutingRequest("r3", 640, first.blockHashes(), 64), List.of("a", "b"))
                        .overlapBlocks())
                .isZero();
    }
}
