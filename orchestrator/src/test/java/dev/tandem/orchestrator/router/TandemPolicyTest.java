package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code tandem}: {@code cost = pending prefill tokens + missWeight × uncached tokens}, where the overlap is the
 * larger of the KV index's and that of the policy's own in-flight (not yet prefilled) requests on the worker, and
 * {@code missWeight = 1 + mean pending prefill per candidate / 4096}. Every expected choice below is worked out by
 * hand from that formula; the comments give the costs.
 */
class TandemPolicyTest {

    private static final int BS = 64;
    /** Prompt length used throughout: 64 blocks. */
    private static final int T = 4096;
    /** Shared prefix: 48 blocks = 3072 tokens, so a worker holding it has 1024 tokens to compute. */
    private static final int PREFIX = 48;

    /** A 64-block prompt: the shared prefix, then 16 blocks of its own (distinct per {@code own}). */
    private static RoutingRequest req(String id, int own) {
        long[] h = new long[T / BS];
        for (int i = 0; i < h.length; i++) {
            h[i] = i < PREFIX ? 1_000 + i : 100_000L * own + i;
        }
        return new RoutingRequest(id, T, h, BS);
    }

    private static Candidate c(String id, int overlap, int requests, long prefill) {
        return new Candidate(id, overlap, new ActiveLoad.WorkerLoad(requests, requests * 64L, prefill));
    }

    @Test
    void withEqualQueuesTheWorkerHoldingThePrefixWins() {
        // Each case on a fresh policy, so that no earlier choice leaves a prefix in flight.
        // Idle: missWeight 1; a = 4096, b = 1024 (b has more requests, which only breaks ties).
        assertThat(new TandemPolicy().choose(req("r1", 1), List.of(c("a", 0, 0, 0), c("b", PREFIX, 3, 0))))
                .isEqualTo(1);
        // Both queues 2000: missWeight 1 + 2000/4096 = 1.488; a = 2000 + 6096 = 8096, b = 2000 + 1524 = 3524.
        assertThat(new TandemPolicy().choose(req("r2", 2), List.of(c("a", 0, 0, 2000), c("b", PREFIX, 3, 2000))))
                .isEqualTo(1);
    }

    @Test
    void aLongPrefillQueueOnTheCachedWorkerSendsTheRequestToAnIdleOneInAnIdleCluster() {
        // Queue 8000 on a, mean 4000: missWeight 1.9766; a = 8000 + 1.9766 × 1024 = 10024, b = 1.9766 × 4096 =
        // 8096. (Weighting by the total backlog instead of the mean, 2.953, would give a = 11024 < b = 12096.)
        assertThat(new TandemPolicy().choose(req("r1", 1), List.of(c("a", PREFIX, 2, 8000), c("b", 0, 0, 0))))
                .isEqualTo(1);
        // Queue 4000, mean 2000: missWeight 1.4883; a = 4000 + 1524 = 5524 < b = 6096: the hit is worth the wait.
        // (A fresh policy: the first one has r1's prefix in flight on b now.)
        assertThat(new TandemPolicy().choose(req("r2", 2), List.of(c("a", PREFIX, 2, 4000), c("b", 0, 0, 0))))
                .isEqualTo(0);
    }

    @Test
    void underALargeClusterWideBacklogAffinityBeatsASlightlyShorterQueue() {
        // Mean backlog 22000: missWeight 1 + 22000/4096 = 6.371; a = 24000 + 6.371 × 1024 = 30524,
        // b = 20000 + 6.371 × 4096 = 46096. With missWeight 1 b would win (24096 < 25024).
        List<Candidate> loaded =
                List.of(c("a", PREFIX, 6, 24000), c("b", 0, 5, 20000), c("c", 0, 5, 22000), c("d", 0, 5, 22000));
        assertThat(new TandemPolicy().choose(req("r1", 1), loaded)).isEqualTo(0);
        // The same 4000-token queue difference in a nearly idle cluster (mean 1005, missWeight 1.245):
        // a = 4000 + 1275 = 5275, b = 5101, c = d = 5111: the shorter queue wins.
        List<Candidate> idle = List.of(c("a", PREFIX, 1, 4000), c("b", 0, 0, 0), c("c", 0, 0, 10), c("d", 0, 0, 10));
        assertThat(new TandemPolicy().choose(req("r2", 2), idle)).isEqualTo(1);
    }

    @Test
    void aSecondRequestOfANewPrefixFollowsTheFirstWhileItIsStillInFlight() {
        Router router = new Router(new TandemPolicy());
        List<String> workers = List.of("a", "b");
        // Nothing cached, both idle: a tie, to the first.
        assertThat(router.route(req("r1", 1), workers).workerId()).isEqualTo("a");
        // No KV event yet (r1 has not been prefilled). a has 4096 tokens queued, mean 2048, missWeight 1.5;
        // r1's prefix counts as held on a: a = 4096 + 1.5 × 1024 = 5632 < b = 1.5 × 4096 = 6144.
        Router.Decision second = router.route(req("r2", 2), workers);
        assertThat(second.workerId()).isEqualTo("a");
        assertThat(second.overlapBlocks()).as("the KV index knows nothing yet").isZero();
        // Both prefilled, still without KV events: the policy no longer counts their prefixes; a and b cost the
        // same (4096, nothing queued) and the tie goes to b, which has fewer requests.
        router.firstToken("r1");
        router.firstToken("r2");
        assertThat(router.route(req("r3", 3), workers).workerId()).isEqualTo("b");
    }

    @Test
    void inFlightPrefixesAreForgottenOnlyWhenEveryRequestHoldingThemIsReleased() {
        TandemPolicy p = new TandemPolicy();
        assertThat(route(p, req("r1", 1), List.of(c("a", 0, 0, 0), c("b", 0, 0, 0))))
                .isEqualTo(0);
        // a = 4096 + 1.5 × 1024 = 5632 < b = 6144 (as in the router test above).
        assertThat(route(p, req("r2", 2), List.of(c("a", 0, 1, 4096), c("b", 0, 0, 0))))
                .isEqualTo(0);
        // r1 prefilled and then finished: releasing it twice must not release r2's hold on the prefix.
        p.onFirstToken("r1");
        p.onFinish("r1");
        assertThat(route(p, req("r3", 3), List.of(c("a", 0, 1, 4096), c("b", 0, 0, 0))))
                .isEqualTo(0);
        // r2 cancelled before its first token, r3 prefilled: nothing holds the prefix. a's queue is 100, mean 50,
        // missWeight 1.0122: a = 100 + 4146 > b = 4146. (Still counting the prefix: a = 100 + 1036 would win.)
        p.onFinish("r2");
        p.onFirstToken("r3");
        assertThat(route(p, req("r4", 4), List.of(c("a", 0, 3, 100), c("b", 0, 0, 0))))
                .isEqualTo(1);
    }

    @Test
    void inFlightPrefixesCountOnlyOnTheWorkerTheyWereSentTo() {
        TandemPolicy p = new TandemPolicy();
        // r1 goes to b (a is busier), so its prefix is pending on b only.
        assertThat(route(p, req("r1", 1), List.of(c("a", 0, 1, 10), c("b", 0, 0, 0))))
                .isEqualTo(1);
        // Queues a 0, b 4096 (r1), mean 2048, missWeight 1.5: a = 6144, b = 4096 + 1536 = 5632: stays on b.
        assertThat(route(p, req("r2", 2), List.of(c("a", 0, 0, 0), c("b", 0, 1, 4096))))
                .isEqualTo(1);
    }

    @Test
    void theKvIndexOverlapAndTheInFlightOverlapAreNotAdded() {
        TandemPolicy p = new TandemPolicy();
        // r1 (prefix + own 1) in flight on a.
        assertThat(route(p, req("r1", 1), List.of(c("a", 0, 0, 0), c("b", 0, 0, 0))))
                .isEqualTo(0);
        // a also reports the 48-block prefix through the KV index; b holds 16 blocks of r2 in the index. The
        // overlap on a is max(48, 48) = 48: a = 4096 + 1.5 × 1024 = 5632 > b = 1.5 × (4096 − 1024) = 4608. Adding
        // the two (96 blocks, leaving 1 token to compute) would make a = 4097.5 win.
        assertThat(route(p, req("r2", 2), List.of(c("a", PREFIX, 1, 4096), c("b", 16, 0, 0))))
                .isEqualTo(1);
    }

    /** What the Router does: choose, then tell the policy where the request went. */
    private static int route(TandemPolicy p, RoutingRequest r, List<Candidate> candidates) {
        int i = p.choose(r, candidates);
        p.onRouted(r, candidates.get(i).workerId());
        return i;
    }
}
