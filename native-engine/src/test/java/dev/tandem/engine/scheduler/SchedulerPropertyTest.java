package dev.tandem.engine.scheduler;

import static dev.tandem.engine.scheduler.SchedulerHarness.NO_EOS_TOKENS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.engine.testing.RecordingListener;
import dev.tandem.engine.testing.SimReference;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Random workloads (block sizes, budgets, slot limits, KV capacities, prompts sharing prefixes, aborts) run to
 * completion; every step must respect the limits and every request must get exactly the sim's reference tokens,
 * however it was chunked, cached, preempted and recomputed.
 */
class SchedulerPropertyTest {

    /** A request: its prompt (a prefix of one of two base texts, so that requests share prefixes), its limit, and
     * the step at which it is aborted (-1 for never). */
    record Req(int length, int base, int maxTokens, int abortAtStep) {}

    @Provide
    Arbitrary<List<Req>> requests() {
        return Combinators.combine(
                        Arbitraries.integers().between(1, 40),
                        Arbitraries.integers().between(0, 1),
                        Arbitraries.integers().between(1, 30),
                        Arbitraries.frequencyOf(
                                net.jqwik.api.Tuple.of(4, Arbitraries.just(-1)),
                                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 30))))
                .as(Req::new)
                .list()
                .ofMinSize(1)
                .ofMaxSize(6);
    }

    @Property(tries = 300)
    void everyStepRespectsTheLimitsAndEveryRequestGetsItsReferenceTokens(
            @ForAll @IntRange(min = 1, max = 8) int blockSize,
            @ForAll @IntRange(min = 1, max = 48) int budget,
            @ForAll @IntRange(min = 1, max = 5) int maxNumSeqs,
            @ForAll @IntRange(min = 0, max = 24) int extraBlocks,
            @ForAll("requests") List<Req> reqs) {
        int longest = reqs.stream().mapToInt(Req::length).max().orElseThrow();
        // The engine admits only prompts that leave room for one generated token.
        int kvBlocks = (longest + blockSize) / blockSize + extraBlocks;
        int capacity = kvBlocks * blockSize;
        SchedulerHarness h = new SchedulerHarness(new SchedulerConfig(blockSize, kvBlocks, budget, maxNumSeqs, 4096));

        int[][] bases = {SimReference.prompt(40, 1), SimReference.prompt(40, 2)};
        int[][] prompts = new int[reqs.size()][];
        for (int i = 0; i < reqs.size(); i++) {
            Req r = reqs.get(i);
            prompts[i] = Arrays.copyOf(bases[r.base()], r.length());
            h.submit("r" + i, prompts[i], r.maxTokens());
        }

        int step = 0;
        while (h.scheduler.hasWork()) {
            assertThat(step).as("finishes in bounded time").isLessThan(5000);
            for (int i = 0; i < reqs.size(); i++) {
                if (reqs.get(i).abortAtStep() == step) {
                    h.scheduler.abort("r" + i);
                }
            }
            if (!h.scheduler.hasWork()) {
                break;
            }
            StepPlan plan = h.plan();
            SchedulerHarness.Step s = h.steps.getLast();
            assertThat(plan.isEmpty()).as("step %d stalled", step).isFalse();
            assertThat(s.totalTokens()).as("budget of step %d", step).isBetween(1, budget);
            assertThat(s.runningAfterSchedule()).isLessThanOrEqualTo(maxNumSeqs);
            assertThat(plan.kvBlocksUsed()).isLessThanOrEqualTo(kvBlocks);
            for (ScheduledChunk c : plan.chunks()) {
                assertThat(c.tokens()).isPositive();
                assertThat(c.start() + c.tokens())
                        .isLessThanOrEqualTo(c.sequence().length());
                assertThat(c.sequence().blocks().size() * blockSize)
                        .as("blocks cover the chunk")
                        .isGreaterThanOrEqualTo(c.start() + c.tokens());
            }
            h.apply(plan);
            var bm = h.scheduler.blockManager();
            assertThat(bm.usedBlocks() + bm.freeBlocks()).isEqualTo(kvBlocks);
            step++;
        }

        for (int i = 0; i < reqs.size(); i++) {
            Req r = reqs.get(i);
            RecordingListener l = h.listener("r" + i);
            FinishReason reason = l.finishReason();
            int[] tokens = l.tokens();
            int expectedLength = Math.min(r.maxTokens(), capacity - r.length() + 1);
            int[] reference = SimReference.continuation(NO_EOS_TOKENS, prompts[i], expectedLength);
            if (reason == FinishReason.CANCELLED) {
                assertThat(r.abortAtStep()).isNotNegative();
                assertThat(tokens.length).isLessThan(expectedLength);
                assertThat(tokens).containsExactly(Arrays.copyOf(reference, tokens.length));
            } else {
                assertThat(reason).isEqualTo(FinishReason.LENGTH);
                assertThat(tokens).containsExactly(reference);
            }
            var usage = l.usage();
            assertThat(usage.promptTokens()).isEqualTo(r.length());
            assertThat(usage.completionTokens()).isEqualTo(tokens.length);
            assertThat(usage.cachedPromptTokens() % blockSize).isZero();
            assertThat(usage.cachedPromptTokens()).isLessThan(r.length());
        }
        assertThat(h.usedBlocks()).as("every block is returned").isZero();
    }
}
