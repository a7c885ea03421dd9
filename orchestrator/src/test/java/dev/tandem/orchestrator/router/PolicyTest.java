package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyTest {

    private static final RoutingRequest REQ = new RoutingRequest("r", 160, new long[10], 16);

    private static Candidate c(String id, int overlap, int requests, long blocks, long prefill) {
        return new Candidate(id, overlap, new ActiveLoad.WorkerLoad(requests, blocks, prefill));
    }

    @Test
    void kvPrefersTheWorkerHoldingThePrefixUntilItsLoadOutweighsTheHit() {
        KvAwarePolicy kv = new KvAwarePolicy();
        assertThat(kv.choose(REQ, List.of(c("a", 0, 0, 0, 0), c("b", 8, 1, 5, 0))))
                .isEqualTo(1);
        assertThat(kv.choose(REQ, List.of(c("a", 0, 0, 0, 0), c("b", 8, 3, 9, 0))))
                .isEqualTo(0);
    }

    @Test
    void kvCountsPendingPrefillOnTheWorker() {
        KvAwarePolicy kv = new KvAwarePolicy();
        assertThat(kv.choose(REQ, List.of(c("a", 2, 1, 0, 16 * 5), c("b", 0, 0, 0, 0))))
                .isEqualTo(1);
    }

    @Test
    void kvBreaksTiesByFewerRequests() {
        KvAwarePolicy kv = new KvAwarePolicy();
        assertThat(kv.choose(REQ, List.of(c("a", 0, 2, 0, 0), c("b", 0, 1, 0, 0))))
                .isEqualTo(1);
    }

    @Test
    void leastLoadedPicksFewestRequests() {
        assertThat(new LeastLoadedPolicy().choose(REQ, List.of(c("a", 9, 3, 0, 0), c("b", 0, 1, 0, 0))))
                .isEqualTo(1);
    }

    @Test
    void roundRobinCycles() {
        RoundRobinPolicy rr = new RoundRobinPolicy();
        List<Candidate> cs = List.of(c("a", 0, 0, 0, 0), c("b", 0, 0, 0, 0), c("c", 0, 0, 0, 0));
        assertThat(List.of(rr.choose(REQ, cs), rr.choose(REQ, cs), rr.choose(REQ, cs), rr.choose(REQ, cs)))
                .containsExactly(0, 1, 2, 0);
    }

    @Test
    void unknownPolicyNameListsTheKnownOnes() {
        assertThatThrownBy(() -> RoutingPolicies.create("fastest"))
                .hasMessageContaining("round-robin")
                .hasMessageContaining("kv");
    }

    @Test
    void activeLoadTracksRoutingFirstTokenAndCompletion() {
        ActiveLoad load = new ActiveLoad();
        load.add("r1", "a", 4, 64);
        load.add("r2", "a", 2, 32);
        assertThat(load.of("a")).isEqualTo(new ActiveLoad.WorkerLoad(2, 6, 96));
        load.prefilled("r1");
        load.prefilled("r1");
        assertThat(load.of("a")).isEqualTo(new ActiveLoad.WorkerLoad(2, 6, 32));
        load.finish("r2");
        load.finish("r2");
        assertThat(load.of("a")).isEqualTo(new ActiveLoad.WorkerLoad(1, 4, 0));
        load.finish("r1");
        assertThat(load.of("a")).isEqualTo(new ActiveLoad.WorkerLoad(0, 0, 0));
    }
}
