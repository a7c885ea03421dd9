package dev.tandem.orchestrator.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Router replicas on one event plane see each other's load and in-flight prefixes. */
class RouterReplicaSyncTest {

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void aReplicaBooksTheOthersDecisionsUntilTheyFinish() throws Exception {
        try (EventPlane plane = EventPlaneProvider.open(URI.create("memory:sync"))) {
            Router a = new Router(new TandemPolicy());
            Router b = new Router(new TandemPolicy());
            try (var sa = new RouterReplicaSync(a, plane, "ns", "frontend-a");
                    var sb = new RouterReplicaSync(b, plane, "ns", "frontend-b")) {
                RoutingRequest r = new RoutingRequest("r1", 1024, new long[] {1, 2, 3, 4, 5, 6, 7, 8}, 128);
                String w = a.route(r, List.of("w1", "w2")).workerId();
                eventually("b sees a's request", () -> b.load().of(w).requests() == 1);
                assertThat(b.load().of(w).prefillTokens()).isEqualTo(1024);
                assertThat(a.load().of(w).requests())
                        .as("a does not count its own request twice")
                        .isEqualTo(1);

                // b routes the same prefix to the same worker: a's prefix is in flight there, with no KV event yet.
                RoutingRequest same = new RoutingRequest("r1", 1024, r.blockHashes(), 128);
                Router.Decision d = b.route(same, List.of("w1", "w2"));
                assertThat(d.workerId()).isEqualTo(w);
                b.finish("r1");

                a.firstToken("r1");
                eventually("b sees a's prefill end", () -> b.load().of(w).prefillTokens() == 0);
                a.finish("r1");
                eventually("b sees a's request end", () -> b.load().of(w).requests() == 0);
                assertThat(a.load().of(w).requests()).isZero();
            }
        }
    }

    @Test
    void withoutSyncAReplicaSeesOnlyItsOwnLoad() {
        Router a = new Router(new LeastLoadedPolicy());
        Router b = new Router(new LeastLoadedPolicy());
        a.route(new RoutingRequest("r1", 64, new long[] {1}, 64), List.of("w1", "w2"));
        assertThat(b.load().of("w1").requests()).isZero();
    }
}
