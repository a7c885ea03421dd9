package dev.tandem.api.engine;

import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;

/**
 * An engine advanced one scheduler step at a time by its caller, on the caller's (virtual) time: what a
 * discrete-event simulation such as a trace replay drives, many engines from one thread, with exactly reproducible
 * timings. Engines with a timing model (the {@code sim} backend) provide one; see
 * {@link EngineProvider#createStepped}.
 *
 * <p>Not thread-safe: one thread drives it. Listeners and the KV event sink are called on that thread.
 */
public interface SteppedEngine {

    EngineInfo info();

    /** Queues a request that arrived at {@code nowNanos}; invalid requests throw INVALID_REQUEST. */
    void add(GenerateRequest request, TokenListener listener, long nowNanos);

    /** Ends a request wherever it is; its listener gets a CANCELLED final delta. */
    boolean abort(String requestId);

    /** Whether any request is queued or running. */
    boolean hasWork();

    /**
     * Plans and computes the next step without applying it.
     *
     * @return the step's modeled duration in nanoseconds, or -1 when nothing can run now
     */
    long beginStep();

    /** Applies the step begun last (at the end of its duration): listeners get their deltas, KV events go out. */
    void completeStep();

    LoadSnapshot load(long nowNanos);

    /** Sequences preempted (and recomputed) since the engine started. */
    long preemptions();

    KvStateDump dumpKvState();
}
