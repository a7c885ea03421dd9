package dev.tandem.api.time;

/**
 * The time source of the router and the engines. The system clock runs in real time; a {@link ManualClock}
 * lets a replay run hours of traffic in seconds with exactly reproducible timings.
 */
public interface Clock {

    /** Monotonic nanoseconds from an arbitrary origin. */
    long nanos();

    /** Blocks the calling thread for {@code nanos} of this clock's time. */
    void sleepNanos(long nanos) throws InterruptedException;

    default double millis() {
        return nanos() / 1e6;
    }

    static Clock system() {
        return SystemClock.INSTANCE;
    }
}
