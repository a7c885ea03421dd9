package dev.tandem.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.scheduler.ScheduledChunk;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.scheduler.StepPlan;
import dev.tandem.engine.testing.RecordingListener;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimComputeBackendTest {

    private final SimTokens tokens = new SimTokens(11, 0, 1000, -1, 0);
    private final SimComputeBackend backend = new SimComputeBackend(tokens, 1000, 4096);

    private static Sequence seq(String id, int... prompt) {
        return new Sequence(
                new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(10)),
                new RecordingListener(),
                0);
    }

    @Test
    void samplesOneTokenPerSamplingChunkInPlanOrder() {
        Sequence a = seq("a", 1, 2, 3);
        Sequence b = seq("b", 4, 5, 6, 7);
        Sequence c = seq("c", 8, 9);
        StepPlan plan = new StepPlan(
                List.of(
                        new ScheduledChunk(a, 0, 3, true, false),
                        new ScheduledChunk(b, 0, 2, false, false),
                        new ScheduledChunk(c, 0, 2, true, false)),
                7,
                0,
                3,
                10);
        StepOutput out = backend.execute(plan);
        assertThat(out.sampledTokens())
                .containsExactly(
                        tokens.next(SimTokens.hashOf(new int[] {1, 2, 3}, 3)),
                        tokens.next(SimTokens.hashOf(new int[] {8, 9}, 2)));
        assertThat(a.backendState).isEqualTo(SimTokens.hashOf(new int[] {1, 2, 3}, 3));
        assertThat(b.backendState)
                .as("a chunk that samples nothing leaves the state alone")
                .isZero();
    }

    @Test
    void theModeledDurationFollowsTheTimingModel() {
        Sequence a = seq("a", 1, 2, 3);
        Sequence d = seq("d", 1);
        StepPlan plan = new StepPlan(
                List.of(new ScheduledChunk(a, 0, 3, true, false), new ScheduledChunk(d, 0, 1, true, false)),
                1000,
                2,
                25,
                100);
        long expected = (long) ((SimTimingModel.prefillMillis(1000) + SimTimingModel.decodeMillis(0.25)) * 1e6);
        assertThat(backend.execute(plan).modeledNanos()).isEqualTo(expected);

        StepPlan decodeOnly = new StepPlan(List.of(new ScheduledChunk(d, 0, 1, true, true)), 0, 1, 50, 100);
        assertThat(backend.execute(decodeOnly).modeledNanos()).isEqualTo(26_310_000L);
    }

    @Test
    void reportsItsVocabularyAndContext() {
        assertThat(backend.vocabSize()).isEqualTo(1000);
        assertThat(backend.contextLength()).isEqualTo(4096);
    }
}
