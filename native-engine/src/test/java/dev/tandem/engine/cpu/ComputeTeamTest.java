package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
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
    void claimsStartAtAQuarterOfTheLoopAndShrinkToTheEnd() {
        try (ComputeTeam team = new ComputeTeam(2)) {
            for (int round = 0; round < 20; round++) {
                List<int[]> chunks = Collections.synchronizedList(new ArrayList<>());
                team.run(768, 2, (part, from, to) -> chunks.add(new int[] {from, to}));
                List<int[]> inOrder = new ArrayList<>(chunks);
                inOrder.sort(Comparator.comparingInt(c -> c[0]));
                assertThat(inOrder.getFirst()).containsExactly(0, 192);
                for (int i = 1; i < inOrder.size(); i++) {
                    int[] prev = inOrder.get(i - 1);
                    int[] cur = inOrder.get(i);
                    assertThat(cur[0]).isEqualTo(prev[1]);
                    assertThat(cur[1] - cur[0]).isLessThanOrEqualTo(prev[1] - prev[0]);
                }
                // the tail is cut to a few rows, so the last thread to finish holds little
                assertThat(inOrder.getLast()[1] - inOrder.getLast()[0]).isLessThanOrEqualTo(16);
                assertThat(inOrder.getLast()[1]).isEqualTo(768);
            }
        }
    }

    @Test
    void aTeamLargerThanTheCoresStillFinishesEveryLoop() {
        // More threads than cores: waits must give their core to the thread they wait for.
        int threads = Runtime.getRuntime().availableProcessors() * 3;
        try (ComputeTeam team = new ComputeTeam(threads)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(4096);
            for (int round = 0; round < 300; round++) {
                team.run(4096, 2, (part, from, to) -> {
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
            }
            for (int i = 0; i < 4096; i++) {
                assertThat(hits.get(i)).isEqualTo(300);
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
