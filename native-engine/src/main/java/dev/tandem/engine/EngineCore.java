package dev.tandem.engine;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SteppedEngine;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.scheduler.Scheduler;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.scheduler.StepPlan;

/**
 * One engine's single-threaded heart: scheduler, block manager and compute backend, advanced one step at a time.
 * {@link BuiltinEngine} runs it on a thread in real (or sped-up) time; a replay drives many cores from one
 * discrete-event loop on virtual time.
 *
 * <p>Not thread-safe: one thread at a time.
 */
public final class EngineCore implements SteppedEngine {

    private final String workerId;
    private final Scheduler scheduler;
    private final ComputeBackend backend;
    private final KvEventSink events;
    private final EngineInfo info;
    private long lastEventId;
    private long steps;
    private StepPlan pendingPlan;
    private StepOutput pendingOutput;

    public EngineCore(
            String workerId, EngineInfo info, Scheduler scheduler, ComputeBackend backend, KvEventSink events) {
        this.workerId = workerId;
        this.info = info;
        this.scheduler = scheduler;
        this.backend = backend;
        this.events = events;
        connectKv();
    }

    /** Wakes whatever thread steps this core; set by the engine that runs it. */
    private volatile Runnable wakeup = () -> {};

    /**
     * Registers the scheduler's KV connector (if any) with this engine's KV store (null for a backend that holds no
     * KV bytes, the sim: its connectors only account) and hands it to the backend.
     */
    private void connectKv() {
        var connector = scheduler.connector();
        if (connector == null) {
            return;
        }
        connector.register(
                new dev.tandem.api.kv.connector.KvConnectorContext(workerId, backend.kvStore(), () -> wakeup.run()));
        backend.connect(connector);
    }

    /** Sets how a KV connector wakes the thread that steps this core when a transfer completes while it idles. */
    public void onKvTransfer(Runnable wakeup) {
        this.wakeup = wakeup;
    }

    /** Applies completed KV transfers (frees blocks peers have pulled) while the engine has nothing to step. */
    public void idle() {
        scheduler.applyTransfers();
        publishEvents();
    }

    @Override
    public EngineInfo info() {
        return info;
    }

    /** Rejects a request this engine can never serve (token range, context length, KV capacity). */
    public void validate(GenerateRequest request) {
        if (request.textPrompt() != null) {
            throw invalid("the built-in engine takes token ids, not a text prompt (this model needs a tokenizer)");
        }
        int[] prompt = request.promptTokens();
        if (prompt.length >= info.contextLength()) {
            throw invalid("the prompt has " + prompt.length + " tokens; this model's context is " + info.contextLength()
                    + " tokens including at least one generated");
        }
        int bs = info.blockSize();
        if ((prompt.length + bs) / bs > info.kvBlocks()) {
            throw invalid("the prompt needs more KV blocks than this worker has (" + info.kvBlocks() + ")");
        }
        for (int t : prompt) {
            if (t < 0 || t >= info.vocabSize()) {
                throw invalid("token id " + t + " is outside the vocabulary [0, " + info.vocabSize() + ")");
            }
        }
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Kind.INVALID_REQUEST, message);
    }

    @Override
    public void add(GenerateRequest request, TokenListener listener, long nowNanos) {
        validate(request);
        scheduler.add(new Sequence(request, listener, nowNanos));
    }

    /**
     * Queues a request already validated by {@link #validate} (the engine that runs this core validates on the
     * caller's thread, where a refusal can be thrown back, and admits on its own).
     */
    public void admit(GenerateRequest request, TokenListener listener, long nowNanos) {
        scheduler.add(new Sequence(request, listener, nowNanos));
    }

    /** Requests queued for admission (preempted ones included). */
    public int waitingCount() {
        return scheduler.waitingCount();
    }

    /** Ends every request with {@code reason} (shutdown, a failed engine) and publishes the freed blocks. */
    public void abortAll(dev.tandem.api.engine.FinishReason reason) {
        scheduler.abortAll(reason);
    }

    /** Closes the KV connector, if any (after the engine stopped stepping). */
    public void closeConnector() {
        if (scheduler.connector() != null) {
            scheduler.connector().close();
        }
    }

    @Override
    public boolean abort(String requestId) {
        boolean found = scheduler.abort(requestId);
        publishEvents();
        return found;
    }

    @Override
    public boolean hasWork() {
        return scheduler.hasWork();
    }

    @Override
    public long beginStep() {
        if (pendingPlan != null) {
            throw new IllegalStateException("the previous step was not completed");
        }
        StepPlan plan = scheduler.schedule();
        if (plan.isEmpty()) {
            publishEvents();
            return -1;
        }
        pendingOutput = backend.execute(plan);
        pendingPlan = plan;
        return pendingOutput.modeledNanos();
    }

    @Override
    public void completeStep() {
        if (pendingPlan == null) {
            throw new IllegalStateException("no step was begun");
        }
        StepPlan plan = pendingPlan;
        pendingPlan = null;
        scheduler.complete(plan, pendingOutput.sampledTokens(), pendingOutput.logprobs());
        pendingOutput = null;
        publishEvents();
        steps++;
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
        long nanos = beginStep();
        if (nanos >= 0) {
            completeStep();
        }
        return nanos;
    }

    public long steps() {
        return steps;
    }

    /** Publishes pending KV events (also those of aborts and admissions that did not lead to a step). */
    public void publishEvents() {
        KvEventBatch batch = scheduler.blockManager().drainEvents(workerId, lastEventId + 1);
        var connector = scheduler.connector();
        var tiers = connector == null ? java.util.List.<dev.tandem.api.kv.KvEvent>of() : connector.takeEvents();
        if (!tiers.isEmpty()) {
            // The primary cache's events first: a block evicted from it and stored in a tier reads in that order.
            var all = new java.util.ArrayList<dev.tandem.api.kv.KvEvent>();
            if (batch != null) {
                all.addAll(batch.events());
            }
            all.addAll(tiers);
            batch = new KvEventBatch(workerId, lastEventId + 1, all);
        }
        if (batch != null) {
            lastEventId++;
            events.publish(batch);
        }
    }

    @Override
    public long preemptions() {
        return scheduler.preemptions();
    }

    @Override
    public KvStateDump dumpKvState() {
        publishEvents();
        return new KvStateDump(workerId, lastEventId, scheduler.blockManager().cachedHashes());
    }

    @Override
    public LoadSnapshot load(long nowNanos) {
        var bm = scheduler.blockManager();
        return new LoadSnapshot(
                workerId,
                scheduler.runningCount(),
                scheduler.waitingCount(),
                bm.usedBlocks(),
                bm.totalBlocks(),
                scheduler.pendingPrefillTokens(),
                nowNanos,
                scheduler.prefixQueryTokens(),
                scheduler.prefixHitTokens(),
                scheduler.preemptions());
    }
}
