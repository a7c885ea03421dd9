package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ComputeTeamTest {

    @Test
    void everyIndexRunsExactlyOnceInAlignedChunks() {
        try (ComputeTeam team = new ComputeTeam(3)) {
            for (int n : new int[] {0, 1, 2, 5, 47, 768, 32000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, n));
                for (int round = 0; round < 20; round++) {
                    team.run(n, 2, (part, from, to) -> {
                        assertThat(part).isBetween(0, 2);
                        if (n >= 2) {
                            assertThat(from % 2).isZero();
                        }
                        for (int i = from; i < to; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                }
                for (int i = 0; i < n; i++) {
                    assertThat(hits.get(i)).as("index %d of %d", i, n).isEqualTo(20);
                }
            }
        }
    }

    @Test
    void aFailureInAnyThreadReachesTheCallerAndTheTeamKeepsWorking() {
        try (ComputeTeam team = new ComputeTeam(2)) {
            assertThatThrownBy(() -> team.run(1000, (part, from, to) -> {
                        if (from <= 900 && 900 < to) {
                            throw new ArithmeticException("boom");
                        }
                    }))
                    .isInstanceOf(IllegalStateException.class)
                    .hasRootCauseInstanceOf(ArithmeticException.class);
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            team.run(100, (part, from, to) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < 100; i++) {
                assertThat(hits.get(i)).isEqualTo(1);
            }
        }
    }

    @Test
    void workersThatParkedWhileIdleWakeForTheNextLoop() throws InterruptedException {
        try (ComputeTeam team = new ComputeTeam(2)) {
            Thread.sleep(50); // far beyond the spin: the worker is parked now
            AtomicIntegerArray byPart = new AtomicIntegerArray(2);
            for (int round = 0; round < 200; round++) {
                team.run(64, (part, from, to) -> {
                    byPart.addAndGet(part, to - from);
                    long until = System.nanoTime() + 20_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                });
            }
            assertThat(byPart.get(0) + byPart.get(1)).isEqualTo(64 * 200);
            assertThat(byPart.get(1)).as("chunks taken by the worker").isPositive();
        }
    }
}
