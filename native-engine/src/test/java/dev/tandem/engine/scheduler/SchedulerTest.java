package dev.tandem.engine.scheduler;

import static dev.tandem.engine.scheduler.SchedulerHarness.NO_EOS_TOKENS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.engine.testing.RecordingListener;
import dev.tandem.engine.testing.SimReference;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class SchedulerTest {

    private static final int EOS = 999;

    private static SchedulerConfig config(int blockSize, int kvBlocks, int budget, int maxSeqs, int context) {
        return new SchedulerConfig(blockSize, kvBlocks, budget, maxSeqs, context);
    }

    private static void assertMatchesReference(SchedulerHarness h, String id, int[] prompt, int n) {
        RecordingListener l = h.listener(id);
        assertThat(l.tokens())
                .as("tokens of %s", id)
                .containsExactly(SimReference.continuation(NO_EOS_TOKENS, prompt, n));
    }

    @Test
    void rejectsNonsensicalConfigs() {
        assertThatThrownBy(() -> config(0, 1, 1, 1, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> config(1, 0, 1, 1, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> config(1, 1, 0, 1, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> config(1, 1, 1, 0, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> config(1, 1, 1, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anEmptySchedulerPlansNothing() {
        SchedulerHarness h = new SchedulerHarness(config(4, 8, 16, 4, 64));
        assertThat(h.scheduler.hasWork()).isFalse();
        assertThat(h.scheduler.schedule().isEmpty()).isTrue();
        assertThat(h.scheduler.abort("nobody")).isFalse();
    }

    @Nested
    class ChunkedPrefill {

        @Test
        void chunkedPrefillNeverExceedsTheTokenBudgetInAnyStep() {
            SchedulerHarness h = new SchedulerHarness(config(4, 256, 16, 8, 1024));
            int[] lengths = {3, 17, 40, 9, 64, 1, 33};
            for (int i = 0; i < lengths.length; i++) {
                h.submit("r" + i, SimReference.prompt(lengths[i], i), 5 + i);
            }
            h.runToCompletion(1000);
            assertThat(h.steps).isNotEmpty();
            for (SchedulerHarness.Step s : h.steps) {
                assertThat(s.totalTokens()).as("tokens of step %d", s.index()).isBetween(1, 16);
                assertThat(s.prefillTokens() + s.decodeSequences())
                        .as("prefill + decode tokens of step %d", s.index())
                        .isEqualTo(s.totalTokens());
            }
            assertThat(h.steps).anySatisfy(s -> assertThat(s.totalTokens()).isEqualTo(16));
            for (int i = 0; i < lengths.length; i++) {
                assertMatchesReference(h, "r" + i, SimReference.prompt(lengths[i], i), 5 + i);
                assertThat(h.listener("r" + i).finishReason()).isEqualTo(FinishReason.LENGTH);
            }
            assertThat(h.usedBlocks()).isZero();
        }

        @Test
        void aLongPromptCompletesOverSeveralBudgetSizedChunks() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 16, 4, 1024));
            int[] prompt = SimReference.prompt(50, 1);
            Sequence seq = h.submit("long", prompt, 3);
            RecordingListener l = h.listener("long");

            int[][] expectedChunks = {{0, 16}, {16, 16}, {32, 16}};
            for (int[] expected : expectedChunks) {
                StepPlan plan = h.step();
                assertThat(plan.chunks()).hasSize(1);
                ScheduledChunk c = plan.chunks().getFirst();
                assertThat(c.start()).isEqualTo(expected[0]);
                assertThat(c.tokens()).isEqualTo(expected[1]);
                assertThat(c.samples()).isFalse();
                assertThat(c.decode()).isFalse();
                assertThat(plan.prefillTokens()).isEqualTo(16);
                assertThat(l.deltas())
                        .as("no token before the prompt is computed")
                        .isEmpty();
                assertThat(seq.computed()).isEqualTo(expected[0] + expected[1]);
            }
            StepPlan last = h.step();
            ScheduledChunk c = last.chunks().getFirst();
            assertThat(c.start()).isEqualTo(48);
            assertThat(c.tokens()).isEqualTo(2);
            assertThat(c.samples()).isTrue();
            assertThat(l.deltas()).hasSize(1);

            StepPlan decode = h.step();
            assertThat(decode.decodeSequences()).isEqualTo(1);
            assertThat(decode.prefillTokens()).isZero();
            assertThat(decode.chunks().getFirst().decode()).isTrue();
            h.runToCompletion(10);
            assertThat(h.steps).hasSize(6);
            assertMatchesReference(h, "long", prompt, 3);
        }

        @Test
        void decodesOfRunningSequencesAreScheduledBeforeNewPrefill() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 8, 4, 1024));
            h.submit("a", SimReference.prompt(4, 1), 10);
            h.step();
            h.submit("b", SimReference.prompt(40, 2), 2);
            StepPlan plan = h.step();
            assertThat(plan.chunks()).hasSize(2);
            assertThat(plan.chunks().get(0).sequence().requestId()).isEqualTo("a");
            assertThat(plan.chunks().get(0).decode()).isTrue();
            assertThat(plan.chunks().get(1).sequence().requestId()).isEqualTo("b");
            assertThat(plan.chunks().get(1).tokens())
                    .as("the rest of the budget")
                    .isEqualTo(7);
        }

        @Test
        void runningSequencesNeverExceedMaxNumSeqs() {
            SchedulerHarness h = new SchedulerHarness(config(4, 256, 64, 2, 1024));
            for (int i = 0; i < 5; i++) {
                h.submit("r" + i, SimReference.prompt(10, i), 6);
            }
            h.runToCompletion(200);
            for (SchedulerHarness.Step s : h.steps) {
                assertThat(s.runningAfterSchedule())
                        .as("running after step %d", s.index())
                        .isLessThanOrEqualTo(2);
                assertThat(s.sequencesInPlan()).isLessThanOrEqualTo(2);
            }
            assertThat(h.steps.getFirst().sequencesInPlan())
                    .as("slots are filled")
                    .isEqualTo(2);
            for (int i = 0; i < 5; i++) {
                assertMatchesReference(h, "r" + i, SimReference.prompt(10, i), 6);
            }
        }

        @Test
        void waitingRequestsAreAdmittedInArrivalOrder() {
            SchedulerHarness h = new SchedulerHarness(config(4, 256, 64, 1, 1024));
            for (int i = 0; i < 3; i++) {
                h.submit("r" + i, SimReference.prompt(5, i), 2);
            }
            h.runToCompletion(100);
            List<String> admitted = h.steps.stream()
                    .flatMap(s -> s.chunks().stream())
                    .filter(c -> !c.decode())
                    .map(c -> c.sequence().requestId())
                    .distinct()
                    .toList();
            assertThat(admitted).containsExactly("r0", "r1", "r2");
        }
    }

    @Nested
    class PrefixCache {

        @Test
        void anIdenticalSecondPromptReusesTheCachedBlockAlignedPrefix() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] prompt = SimReference.prompt(50, 3);
            h.submit("first", prompt, 4);
            h.runToCompletion(50);
            assertThat(h.listener("first").usage().cachedPromptTokens()).isZero();

            h.submit("second", prompt.clone(), 4);
            StepPlan plan = h.step();
            ScheduledChunk c = plan.chunks().getFirst();
            assertThat(c.start()).isEqualTo(48);
            assertThat(c.tokens()).isEqualTo(2);
            assertThat(plan.prefillTokens()).isEqualTo(2);
            h.runToCompletion(50);
            var usage = h.listener("second").usage();
            assertThat(usage.cachedPromptTokens()).isEqualTo(48);
            assertThat(usage.promptTokens()).isEqualTo(50);
            assertMatchesReference(h, "second", prompt, 4);
        }

        @Test
        void aBlockAlignedPromptAlwaysLeavesOneTokenToCompute() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] prompt = SimReference.prompt(48, 4);
            h.submit("first", prompt, 2);
            h.runToCompletion(50);
            h.submit("second", prompt.clone(), 2);
            ScheduledChunk c = h.step().chunks().getFirst();
            assertThat(c.start()).isEqualTo(44);
            assertThat(c.tokens()).isEqualTo(4);
            assertThat(c.samples()).isTrue();
            h.runToCompletion(50);
            assertThat(h.listener("second").usage().cachedPromptTokens()).isEqualTo(44);
            assertMatchesReference(h, "second", prompt, 2);
        }

        @Test
        void aOneBlockPromptGetsNoCachedTokens() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] prompt = SimReference.prompt(4, 4);
            h.submit("first", prompt, 2);
            h.runToCompletion(50);
            h.submit("second", prompt.clone(), 2);
            h.runToCompletion(50);
            assertThat(h.listener("second").usage().cachedPromptTokens()).isZero();
        }

        @Test
        void aRunningSequenceSharesItsCachedBlocksWithAnIdenticalPrompt() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] prompt = SimReference.prompt(20, 5);
            Sequence a = h.submit("a", prompt, 100);
            h.step();
            Sequence b = h.submit("b", prompt.clone(), 100);
            h.step();
            assertThat(b.cachedPromptTokens()).isEqualTo(16);
            for (int i = 0; i < 4; i++) {
                assertThat(b.blocks().get(i)).isEqualTo(a.blocks().get(i));
                assertThat(h.scheduler.blockManager().refCount(a.blocks().get(i)))
                        .isEqualTo(2);
            }
            assertThat(b.blocks().get(4)).isNotEqualTo(a.blocks().get(4));
            h.scheduler.abort("a");
            h.scheduler.abort("b");
            assertThat(h.usedBlocks()).isZero();
        }

        @Test
        void aPartiallyMatchingPromptReusesOnlyTheCommonFullBlocks() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] first = SimReference.prompt(20, 6);
            h.submit("first", first, 1);
            h.runToCompletion(10);
            int[] second = Arrays.copyOf(first, 20);
            second[10] = first[10] + 1; // diverges inside the third block
            h.submit("second", second, 3);
            h.runToCompletion(10);
            assertThat(h.listener("second").usage().cachedPromptTokens()).isEqualTo(8);
            assertMatchesReference(h, "second", second, 3);
        }

        @Test
        void aDifferentCacheSaltIsolatesThePrefixCache() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] prompt = SimReference.prompt(20, 7);
            h.submit("plain", prompt, 1);
            h.runToCompletion(10);
            var stop = StopConditions.maxTokens(1);
            h.submit(new GenerateRequest("salted", prompt.clone(), SamplingParams.GREEDY, stop, "tenant-a"));
            h.runToCompletion(10);
            h.submit(new GenerateRequest("salted-again", prompt.clone(), SamplingParams.GREEDY, stop, "tenant-a"));
            h.runToCompletion(10);
            assertThat(h.listener("salted").usage().cachedPromptTokens()).isZero();
            assertThat(h.listener("salted-again").usage().cachedPromptTokens()).isEqualTo(16);
        }

        @Test
        void generatedTokensAreCachedToo() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            int[] prompt = SimReference.prompt(6, 8);
            h.submit("first", prompt, 10);
            h.runToCompletion(20);
            int[] generated = h.listener("first").tokens();
            // Continue the conversation: the prompt now includes the previous answer.
            int[] next = new int[prompt.length + generated.length + 1];
            System.arraycopy(prompt, 0, next, 0, prompt.length);
            System.arraycopy(generated, 0, next, prompt.length, generated.length);
            next[next.length - 1] = 1;
            h.submit("next", next, 1);
            h.runToCompletion(20);
            // 6 + 10 = 16 tokens, of which 15 had their KV computed: 3 full blocks.
            assertThat(h.listener("next").usage().cachedPromptTokens()).isEqualTo(12);
        }
    }

    @Nested
    class Preemption {

        private int[] promptA = SimReference.prompt(8, 10);
        private int[] promptB = SimReference.prompt(8, 11);

        private SchedulerHarness run(int kvBlocks) {
            SchedulerHarness h = new SchedulerHarness(config(4, kvBlocks, 64, 4, 1024));
            h.submit("a", promptA, 24);
            h.submit("b", promptB, 24);
            h.runToCompletion(500);
            return h;
        }

        @Test
        void preemptionWhenBlocksRunOutYieldsTheSameTokensAsAnUnpreemptedRun() {
            SchedulerHarness roomy = run(64);
            assertThat(roomy.sequences.values())
                    .allSatisfy(s -> assertThat(s.preemptions()).isZero());

            // Each sequence ends at 32 tokens = 8 blocks; 10 blocks cannot hold both.
            SchedulerHarness tight = run(10);
            assertThat(tight.sequences.get("a").preemptions())
                    .as("the oldest sequence keeps running")
                    .isZero();
            assertThat(tight.sequences.get("b").preemptions())
                    .as("the newest sequence is preempted")
                    .isPositive();

            for (String id : List.of("a", "b")) {
                assertThat(tight.listener(id).tokens())
                        .as("tokens of %s", id)
                        .containsExactly(roomy.listener(id).tokens());
                assertThat(tight.listener(id).finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(tight.listener(id).usage().completionTokens()).isEqualTo(24);
            }
            assertMatchesReference(tight, "b", promptB, 24);
            assertThat(tight.usedBlocks()).isZero();
        }

        @Test
        void noStepEverUsesMoreBlocksThanExist() {
            SchedulerHarness h = new SchedulerHarness(config(4, 10, 64, 4, 1024));
            h.submit("a", promptA, 24);
            h.submit("b", promptB, 24);
            for (int i = 0; i < 500 && h.scheduler.hasWork(); i++) {
                StepPlan plan = h.step();
                assertThat(plan.kvBlocksUsed()).isLessThanOrEqualTo(plan.kvBlocksTotal());
                assertThat(plan.kvBlocksTotal()).isEqualTo(10);
            }
            assertThat(h.scheduler.hasWork()).isFalse();
        }

        @Test
        void aPreemptedSequenceKeepsTheCachedPromptTokensOfItsFirstAdmission() {
            SchedulerHarness h = new SchedulerHarness(config(4, 10, 64, 4, 1024));
            h.submit("warm", promptB, 1);
            h.runToCompletion(10);
            h.submit("a", promptA, 24);
            Sequence b = h.submit("b", promptB.clone(), 24);
            h.runToCompletion(500);
            assertThat(b.preemptions()).isPositive();
            assertThat(h.listener("b").usage().cachedPromptTokens()).isEqualTo(4);
            assertThat(h.listener("b").usage().promptTokens()).isEqualTo(8);
        }

        @Test
        void noRequestIsAdmittedInAStepThatPreempts() {
            SchedulerHarness h = new SchedulerHarness(config(4, 10, 64, 4, 1024));
            h.submit("a", promptA, 24);
            h.submit("b", promptB, 24);
            int preemptionStep = -1;
            for (int i = 0; i < 500 && h.scheduler.hasWork(); i++) {
                int waitingBefore = h.scheduler.waitingCount();
                StepPlan plan = h.step();
                if (h.sequences.get("b").preemptions() > 0 && preemptionStep < 0) {
                    preemptionStep = i;
                    assertThat(plan.chunks())
                            .extracting(c -> c.sequence().requestId())
                            .containsExactly("a");
                    assertThat(h.scheduler.waitingCount()).isEqualTo(waitingBefore + 1);
                    Sequence b = h.sequences.get("b");
                    assertThat(b.computed()).isZero();
                    assertThat(b.blocks().isEmpty()).isTrue();
                    assertThat(h.scheduler.pendingPrefillTokens())
                            .as("b is recomputed from scratch; a only decodes")
                            .isEqualTo(b.length());
                }
            }
            assertThat(preemptionStep).isPositive();
        }

        @Test
        void aSequenceThatOutgrowsTheWholeKvCacheFinishesWithLengthInsteadOfStalling() {
            // 2 blocks of 4 tokens: KV for at most 8 positions, so at most 9 tokens (the last needs no KV).
            SchedulerHarness h = new SchedulerHarness(config(4, 2, 64, 4, 1024));
            int[] prompt = SimReference.prompt(3, 12);
            h.submit("big", prompt, 20);
            h.runToCompletion(100);
            assertThat(h.listener("big").finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(h.listener("big").usage().completionTokens()).isEqualTo(6);
            assertMatchesReference(h, "big", prompt, 6);
            assertThat(h.usedBlocks()).isZero();
        }
    }

    @Nested
    class Abort {

        @Test
        void abortingARunningSequenceFreesAllItsBlocks() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            h.submit("a", SimReference.prompt(20, 1), 100);
            h.step();
            h.step();
            assertThat(h.usedBlocks()).isEqualTo(6);
            assertThat(h.scheduler.abort("a")).isTrue();
            assertThat(h.usedBlocks()).isZero();
            assertThat(h.scheduler.blockManager().freeBlocks()).isEqualTo(64);
            assertThat(h.scheduler.blockManager().cachedBlocks())
                    .as("its full blocks stay cached")
                    .isEqualTo(5);
            assertThat(h.scheduler.hasWork()).isFalse();

            TokenDelta last = h.listener("a").finalDelta();
            assertThat(last.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(last.tokenIds()).isEmpty();
            assertThat(last.usage().completionTokens()).isEqualTo(2);
            assertThat(last.usage().promptTokens()).isEqualTo(20);
            assertThat(h.scheduler.abort("a"))
                    .as("a second abort finds nothing")
                    .isFalse();
            assertThat(h.listener("a").deltas()).hasSize(3);
        }

        @Test
        void abortingAWaitingSequenceRemovesItFromTheQueue() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 1, 1024));
            h.submit("a", SimReference.prompt(5, 1), 3);
            h.submit("b", SimReference.prompt(5, 2), 3);
            h.step();
            assertThat(h.scheduler.waitingCount()).isEqualTo(1);
            assertThat(h.scheduler.abort("b")).isTrue();
            assertThat(h.scheduler.waitingCount()).isZero();
            assertThat(h.listener("b").finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(h.listener("b").usage().completionTokens()).isZero();
            assertThat(h.listener("b").usage().cachedPromptTokens()).isZero();
            h.runToCompletion(10);
            assertThat(h.listener("a").finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(h.usedBlocks()).isZero();
        }

        @Test
        void abortingAPreemptedSequenceLeavesNoBlocksBehind() {
            SchedulerHarness h = new SchedulerHarness(config(4, 10, 64, 4, 1024));
            h.submit("a", SimReference.prompt(8, 10), 24);
            Sequence b = h.submit("b", SimReference.prompt(8, 11), 24);
            while (b.preemptions() == 0) {
                h.step();
            }
            assertThat(b.status()).isEqualTo(Sequence.Status.WAITING);
            assertThat(h.scheduler.abort("b")).isTrue();
            assertThat(b.blocks().isEmpty()).isTrue();
            h.scheduler.abort("a");
            assertThat(h.usedBlocks()).isZero();
        }

        @Test
        void abortAllEndsEverySequenceWithTheGivenReason() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 2, 1024));
            for (int i = 0; i < 4; i++) {
                h.submit("r" + i, SimReference.prompt(9, i), 50);
            }
            h.step();
            h.scheduler.abortAll(FinishReason.ERROR);
            for (int i = 0; i < 4; i++) {
                assertThat(h.listener("r" + i).finishReason()).isEqualTo(FinishReason.ERROR);
            }
            assertThat(h.scheduler.hasWork()).isFalse();
            assertThat(h.usedBlocks()).isZero();
        }

        @Test
        void anAbortedSequenceGetsNoDeltaFromAStepPlannedBeforeTheAbort() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024));
            h.submit("a", SimReference.prompt(5, 1), 10);
            h.submit("b", SimReference.prompt(5, 2), 10);
            StepPlan plan = h.plan();
            h.scheduler.abort("a");
            h.scheduler.complete(plan, new int[] {1, 2});
            assertThat(h.listener("a").deltas()).hasSize(1);
            assertThat(h.listener("a").finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(h.listener("b").tokens()).containsExactly(2);
        }
    }

    @Nested
    class StopConditionsAndUsage {

        private final SchedulerHarness h = new SchedulerHarness(config(4, 64, 64, 4, 1024), Set.of(EOS), NO_EOS_TOKENS);

        private RecordingListener submit(StopConditions stop) {
            h.submit(new GenerateRequest("r", SimReference.prompt(5, 1), SamplingParams.GREEDY, stop));
            return h.listener("r");
        }

        @Test
        void eosStopsGeneration() {
            RecordingListener l = submit(StopConditions.maxTokens(10));
            h.step(10);
            assertThat(l.isDone()).isFalse();
            h.step(EOS);
            assertThat(l.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(l.tokens()).containsExactly(10, EOS);
            assertThat(l.finalDelta().tokenIds()).containsExactly(EOS);
            assertThat(l.usage().completionTokens()).isEqualTo(2);
            assertThat(h.scheduler.hasWork()).isFalse();
            assertThat(h.usedBlocks()).isZero();
        }

        @Test
        void ignoreEosGeneratesThroughEos() {
            RecordingListener l = submit(StopConditions.maxTokens(4).withIgnoreEos(true));
            h.step(EOS);
            h.step(EOS);
            h.step(5);
            assertThat(l.isDone()).isFalse();
            h.step(EOS);
            assertThat(l.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(l.tokens()).containsExactly(EOS, EOS, 5, EOS);
        }

        @Test
        void stopTokenIdsStopGenerationEvenWhenEosIsIgnored() {
            RecordingListener l = submit(new StopConditions(10, Set.of(42), true, 0));
            h.step(1);
            h.step(EOS);
            h.step(42);
            assertThat(l.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(l.tokens()).containsExactly(1, EOS, 42);
        }

        @Test
        void minTokensSuppressesEosAndStopIdsUntilReached() {
            RecordingListener l = submit(new StopConditions(10, Set.of(42), false, 3));
            h.step(EOS);
            h.step(42);
            assertThat(l.isDone()).isFalse();
            h.step(EOS);
            assertThat(l.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(l.tokens()).containsExactly(EOS, 42, EOS);
        }

        @Test
        void maxTokensFinishesWithLengthAndTheLastTokenInTheFinalDelta() {
            RecordingListener l = submit(StopConditions.maxTokens(3));
            h.step(7);
            h.step(8);
            h.step(9);
            List<TokenDelta> deltas = l.deltas();
            assertThat(deltas).hasSize(3);
            assertThat(deltas.get(0).isFinal()).isFalse();
            assertThat(deltas.get(0).usage())
                    .as("the first delta carries the provisional usage")
                    .isNotNull()
                    .satisfies(u -> assertThat(u.completionTokens()).isEqualTo(1));
            assertThat(deltas.get(1).usage()).isNull();
            assertThat(deltas.get(1).tokenIds()).containsExactly(8);
            assertThat(deltas.get(2).finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(deltas.get(2).tokenIds()).containsExactly(9);
            assertThat(l.tokens()).containsExactly(7, 8, 9);
        }

        @Test
        void aSingleTokenRequestFinishesInItsFirstStep() {
            RecordingListener l = submit(StopConditions.maxTokens(1));
            h.step(3);
            assertThat(l.deltas()).hasSize(1);
            assertThat(l.finishReason()).isEqualTo(FinishReason.LENGTH);
        }

        @Test
        void eosOnTheLastAllowedTokenIsAStopNotALength() {
            RecordingListener l = submit(StopConditions.maxTokens(2));
            h.step(1);
            h.step(EOS);
            assertThat(l.finishReason()).isEqualTo(FinishReason.STOP);
        }

        @Test
        void theContextLengthFinishesWithLength() {
            SchedulerHarness small = new SchedulerHarness(config(4, 64, 64, 4, 8), Set.of(EOS), NO_EOS_TOKENS);
            small.submit("r", SimReference.prompt(5, 1), 100);
            small.runToCompletion(20);
            assertThat(small.listener("r").finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(small.listener("r").usage().completionTokens()).isEqualTo(3);
        }

        @Test
        void usageCountsPromptCachedAndCompletionTokens() {
            h.submit("warm", SimReference.prompt(13, 9), 1);
            h.step(1);
            h.submit("r", SimReference.prompt(13, 9), 4);
            h.step(1);
            h.step(2);
            h.step(3);
            h.step(4);
            var usage = h.listener("r").usage();
            assertThat(usage.promptTokens()).isEqualTo(13);
            assertThat(usage.cachedPromptTokens()).isEqualTo(12);
            assertThat(usage.completionTokens()).isEqualTo(4);
            assertThat(usage.totalTokens()).isEqualTo(17);
            assertThat(h.listener("r").tokens()).containsExactly(1, 2, 3, 4);
        }
    }

    @Nested
    class Load {

        @Test
        void pendingPrefillTokensCountsEveryUncomputedPromptToken() {
            SchedulerHarness h = new SchedulerHarness(config(4, 64, 16, 4, 1024));
            h.submit("a", SimReference.prompt(50, 1), 5);
            assertThat(h.scheduler.pendingPrefillTokens()).isEqualTo(50);
            h.step();
            assertThat(h.scheduler.pendingPrefillTokens()).isEqualTo(34);
            h.submit("b", SimReference.prompt(10, 2), 5);
            assertThat(h.scheduler.pendingPrefillTokens()).isEqualTo(44);
            h.step();
            h.step();
            assertThat(h.scheduler.pendingPrefillTokens())
                    .as("a has 2 left, b has 10")
                    .isEqualTo(12);
            h.step(); // a: last 2 prompt tokens, b: 10 tokens (of a 16-token budget, after a's 2)
            assertThat(h.scheduler.pendingPrefillTokens())
                    .as("decoding sequences have no prefill left")
                    .isZero();
            assertThat(h.scheduler.runningCount()).isEqualTo(2);
            assertThat(h.scheduler.waitingCount()).isZero();
        }
    }
}
