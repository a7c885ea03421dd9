package dev.tandem.api.time;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock that moves only when told to: the virtual time of simulations and of deterministic tests. Sleeping on it
 * advances it, so a single-threaded discrete-event loop can drive engines that "sleep" for their step times.
 *
 * <p>Thread safety: reads and advances are atomic; it is meant to be driven by one thread at a time.
 */
public final class ManualClock implements Clock {

    private final AtomicLong now;

    public ManualClock() {
        this(0);
    }

    public ManualClock(long startNanos) {
        now = new AtomicLong(startNanos);
    }

    @Override
    public long nanos() {
        return now.get();
    }

    @Override
    public void sleepNanos(long nanos) {
        advanceNanos(nanos);
    }

    public void advanceNanos(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("time never goes back: " + nanos);
        }
        now.addAndGet(nanos);
    }

    /** Moves to {@code nanos} if that lies ahead; never goes back. */
    public void advanceTo(long nanos) {
        now.accumulateAndGet(nanos, Math::max);
    }
}
