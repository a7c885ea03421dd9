package dev.tandem.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of compute threads that split loops into one contiguous range each. The caller works on range 0
 * while the others take theirs; between loops the others spin briefly (the next product of a forward pass arrives
 * within microseconds) and then park, so an idle engine costs no CPU. This replaces a fork/join submission per
 * matrix product, whose overhead was a large share of a batch-1 decode step.
 *
 * <p>One caller at a time (the engine thread).
 */
final class ComputeTeam implements AutoCloseable {

    /** A loop body over [from, to); {@code part} identifies per-thread scratch. */
    interface Range {
        void run(int part, int from, int to);
    }

    private static final long SPIN_NANOS = 200_000;

    private final int size;
    private final Thread[] workers;
    private volatile Range body;
    private volatile int total;
    private volatile long generation;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile boolean closed;
    private volatile Throwable failure;

    ComputeTeam(int size) {
        this.size = Math.max(1, size);
        this.workers = new Thread[this.size - 1];
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            workers[i] =
                    Thread.ofPlatform().name("compute-" + part).daemon(true).start(() -> work(part));
        }
    }

    int size() {
        return size;
    }

    /** Runs {@code r} over [0, n) split into {@link #size()} contiguous ranges; returns when all are done. */
    void run(int n, Range r) {
        if (size == 1 || n < 2) {
            r.run(0, 0, n);
            return;
        }
        body = r;
        total = n;
        pending.set(size - 1);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        r.run(0, 0, (int) ((long) n / size));
        while (pending.get() > 0) {
            Thread.onSpinWait();
        }
        Throwable f = failure;
        if (f != null) {
            failure = null;
            throw new IllegalStateException("a compute thread failed", f);
        }
    }

    private void work(int part) {
        long seen = 0;
        while (!closed) {
            long g = generation;
            if (g == seen) {
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                while (generation == seen && !closed) {
                    if (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                    } else {
                        LockSupport.parkNanos(1_000_000);
                    }
                }
                continue;
            }
            seen = g;
            int n = total;
            try {
                body.run(part, (int) ((long) n * part / size), (int) ((long) n * (part + 1) / size));
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
