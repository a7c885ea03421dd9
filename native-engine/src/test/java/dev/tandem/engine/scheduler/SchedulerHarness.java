package dev.tandem.engine.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.engine.sim.SimComputeBackend;
import dev.tandem.engine.sim.SimTokens;
import dev.tandem.engine.testing.RecordingListener;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Drives a {@link Scheduler} step by step the way {@code EngineCore} does, either with the sim backend's tokens or
 * with scripted ones, and records what every step planned.
 */
final class SchedulerHarness {

    /** What one step planned, captured before the step was applied. */
    record Step(
            int index,
            int totalTokens,
            int prefillTokens,
            int decodeSequences,
            int runningAfterSchedule,
            int sequencesInPlan,
            List<ScheduledChunk> chunks) {}

    static final SimTokens NO_EOS_TOKENS = new SimTokens(7, 0, 1000, -1, 0);

    final Scheduler scheduler;
    final SimComputeBackend backend;
    final Map<String, RecordingListener> listeners = new LinkedHashMap<>();
    final Map<String, Sequence> sequences = new LinkedHashMap<>();
    final List<Step> steps = new ArrayList<>();

    SchedulerHarness(SchedulerConfig config, Set<Integer> eos, SimTokens tokens) {
        this.scheduler = new Scheduler(config, eos);
        this.backend = new SimComputeBackend(tokens, 1000, config.contextLength());
    }

    SchedulerHarness(SchedulerConfig config) {
        this(config, Set.of(), NO_EOS_TOKENS);
    }

    static GenerateRequest request(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(maxTokens));
    }

    Sequence submit(GenerateRequest request) {
        RecordingListener l = new RecordingListener();
        Sequence s = new Sequence(request, l, steps.size());
        listeners.put(request.requestId(), l);
        sequences.put(request.requestId(), s);
        scheduler.add(s);
        return s;
    }

    Sequence submit(String id, int[] prompt, int maxTokens) {
        return submit(request(id, prompt, maxTokens));
    }

    RecordingListener listener(String id) {
        return listeners.get(id);
    }

    /** Plans and records a step, without applying it. */
    StepPlan plan() {
        StepPlan plan = scheduler.schedule();
        int total = 0;
        Set<Sequence> seqs = new HashSet<>();
        for (ScheduledChunk c : plan.chunks()) {
            total += c.tokens();
            assertThat(seqs.add(c.sequence()))
                    .as("a sequence appears once per step")
                    .isTrue();
        }
        steps.add(new Step(
                steps.size(),
                total,
                plan.prefillTokens(),
                plan.decodeSequences(),
                scheduler.runningCount(),
                seqs.size(),
                List.copyOf(plan.chunks())));
        return plan;
    }

    /** One step with the sim backend's tokens; returns the plan (empty when nothing could run). */
    StepPlan step() {
        return apply(plan());
    }

    /** Computes a planned step with the sim backend and applies it. */
    StepPlan apply(StepPlan plan) {
        if (!plan.isEmpty()) {
            scheduler.complete(plan, backend.execute(plan).sampledTokens());
        }
        return plan;
    }

    /** One step whose sampled tokens are {@code tokens} (one per sampling chunk). */
    StepPlan step(int... tokens) {
        StepPlan plan = plan();
        long sampling = plan.chunks().stream().filter(ScheduledChunk::samples).count();
        assertThat(tokens).as("scripted tokens for the sampling chunks").hasSize((int) sampling);
        scheduler.complete(plan, tokens);
        return plan;
    }

    /** Steps until no work is left; fails when a step plans nothing while work remains (a stall). */
    void runToCompletion(int maxSteps) {
        for (int i = 0; i < maxSteps && scheduler.hasWork(); i++) {
            StepPlan plan = step();
            assertThat(plan.isEmpty())
                    .as(
                            "step %d planned nothing with %d running and %d waiting: the scheduler stalled",
                            steps.size() - 1, scheduler.runningCount(), scheduler.waitingCount())
                    .isFalse();
        }
        assertThat(scheduler.hasWork())
                .as("all work done within %d steps", maxSteps)
                .isFalse();
    }

    int usedBlocks() {
        return scheduler.blockManager().usedBlocks();
    }
}
