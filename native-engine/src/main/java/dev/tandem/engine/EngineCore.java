package dev.tandem.engine;

import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.scheduler.Scheduler;
import dev.tandem.engine.scheduler.StepPlan;

/**
 * One engine's single-threaded heart: scheduler, block manager and compute backend, advanced one step at a time.
 * {@link BuiltinEngine} runs it on a thread in real (or sped-up) time; a replay drives many cores from one
 * discrete-event loop on virtual time.
 *
 * <p>Not thread-safe: one thread at a time.
 */
public final class EngineCore {

    private final String workerId;
    private final Scheduler scheduler;
    private final ComputeBackend backend;
    private final KvEventSink events;
    private long lastEventId;
    private long steps;

    public EngineCore(String workerId, Scheduler scheduler, ComputeBackend backend, KvEventSink events) {
        this.workerId = workerId;
        this.scheduler = scheduler;
        this.backend = backend;
        this.events = events;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    public ComputeBackend backend() {
        return backend;
    }

    /**
     * Runs one step: plans, computes, applies the results (listeners receive their deltas) and publishes the step's
     * KV events as one batch.
     *
     * @return the modeled duration still to wait, or -1 when nothing could be scheduled
     */
    public long step() {
        StepPlan plan = scheduler.schedule();
        if (plan.isEmpty()) {
            publishEvents();
            return -1;
        }
        StepOutput out = backend.execute(plan);
        scheduler.complete(plan, out.sampledTokens());
        publishEvents();
        steps++;
        return out.modeledNanos();
    }

    public long steps() {
        return steps;
    }

    /** Publishes pending KV events (also those of aborts and admissions that did not lead to a step). */
    public void publishEvents() {
        KvEventBatch batch = scheduler.blockManager().drainEvents(workerId, lastEventId + 1);
        if (batch != null) {
            lastEventId++;
            events.publish(batch);
        }
    }

    public KvStateDump dumpKvState() {
        publishEvents();
        return new KvStateDump(workerId, lastEventId, scheduler.blockManager().cachedHashes());
    }

    public LoadSnapshot load(long nowNanos) {
        var bm = scheduler.blockManager();
        return new LoadSnapshot(
                workerId,
                scheduler.runningCount(),
                scheduler.waitingCount(),
                bm.usedBlocks(),
                bm.totalBlocks(),
                scheduler.pendingPrefillTokens(),
                nowNanos);
    }
}
