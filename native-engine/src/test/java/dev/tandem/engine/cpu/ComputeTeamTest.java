package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
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
    void aThreadStalledInsideItsShareLosesTheRestOfItToTheOthers() {
        try (ComputeTeam team = new ComputeTeam(2)) {
            for (int round = 0; round < 5; round++) {
                AtomicIntegerArray byPart = new AtomicIntegerArray(2);
                AtomicIntegerArray hits = new AtomicIntegerArray(768);
                team.run(768, 2, (part, from, to) -> {
                    if (part == 1 && byPart.get(1) == 0) {
                        sleep(30); // a core taken by another process for a while
                    }
                    byPart.addAndGet(part, to - from);
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < 768; i++) {
                    assertThat(hits.get(i)).isEqualTo(1);
                }
                // The worker's share is [384, 768) and it claims half of what is left at a time: stalled in its first
                // piece, it keeps that piece and the caller takes everything else.
                assertThat(byPart.get(1)).as("rows the stalled worker ran").isLessThanOrEqualTo(192);
                assertThat(byPart.get(0)).isGreaterThanOrEqualTo(576);
            }
        }
    }

    @Test
    void eachThreadWalksItsShareFrontToBackInShrinkingPieces() {
        try (ComputeTeam team = new ComputeTeam(1)) {
            List<int[]> chunks = new ArrayList<>();
            team.run(768, 2, (part, from, to) -> chunks.add(new int[] {from, to}));
            assertThat(chunks).hasSize(1).first().satisfies(c -> assertThat(c).containsExactly(0, 768));
        }
        try (ComputeTeam team = new ComputeTeam(2)) {
            for (int round = 0; round < 20; round++) {
                List<int[]> caller = Collections.synchronizedList(new ArrayList<>());
                team.run(768, 2, (part, from, to) -> {
                    if (part == 0) {
                        caller.add(new int[] {from, to});
                    }
                });
                // the caller starts at the front of its own share [0, 384) with half of it (less only if the worker
                // already took the back of it)
                assertThat(caller.getFirst()[0]).isZero();
                assertThat(caller.getFirst()[1]).isBetween(16, 192);
                for (int i = 1; i < caller.size(); i++) {
                    int[] prev = caller.get(i - 1);
                    int[] cur = caller.get(i);
                    if (cur[0] == prev[1]) { // still walking the same run: pieces never grow
                        assertThat(cur[1] - cur[0]).isLessThanOrEqualTo(prev[1] - prev[0]);
                    }
                }
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
