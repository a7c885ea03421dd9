package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The router counts a prefix a worker would load back from a lower tier, at that tier's weight. */
class RouterTiersTest {

    private static final long[] PROMPT = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    private static Router router() {
        Router r = new Router(RoutingPolicies.create("tandem"));
        r.resyncOn(Runnable::run);
        return r;
    }

    @Test
    void aWorkerHoldingThePromptInHostMemoryIsChosenOverOneHoldingNothing() {
        Router r = router();
        r.onKvEvents(new KvEventBatch("b", 1, List.of(new KvEvent.BlockStored(null, PROMPT, KvEvent.HOST))), w -> null);
        Router.Decision d = r.route(new RoutingRequest("q", 160, PROMPT, 16), List.of("a", "b"));
        assertThat(d.workerId()).isEqualTo("b");
        assertThat(d.overlapBlocks()).isEqualTo(9); // 10 blocks x 0.9
    }

    @Test
    void aPrimaryHitOutweighsTheSamePrefixOnDisk() {
        Router r = router();
        r.onKvEvents(new KvEventBatch("a", 1, List.of(new KvEvent.BlockStored(null, PROMPT, KvEvent.DISK))), w -> null);
        r.onKvEvents(new KvEventBatch("b", 1, List.of(new KvEvent.BlockStored(null, PROMPT))), w -> null);
        Router.Decision d = r.route(new RoutingRequest("q", 160, PROMPT, 16), List.of("a", "b"));
        assertThat(d.workerId()).isEqualTo("b");
        assertThat(d.overlapBlocks()).isEqualTo(10);
    }
}
