package dev.tandem.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of compute threads that share loops by claiming contiguous chunks from a common cursor. Between
 * loops the workers spin briefly (the next product of a forward pass arrives within microseconds) and then park,
 * so an idle engine costs no CPU. This replaces a fork/join submission per matrix product, whose overhead was a
 * large share of a batch-1 decode step.
 *
 * <p>Chunks are claimed, not assigned: on a shared machine one core is often slowed by another process, and with a
 * fixed split the other thread then waited for it (a third of a batch-1 decode step in a profile). With claiming,
 * the faster thread simply takes more chunks; the caller works too and never waits for a worker that has not
 * started, only for chunks already claimed.
 *
 * <p>One caller at a time (the engine thread).
 */
final class ComputeTeam implements AutoCloseable {

    /** A loop body over [from, to); {@code part} identifies per-thread scratch (0 is the caller). */
    interface Range {
        void run(int part, int from, int to);
    }

    /**
     * Chunks per thread that a loop is cut into: enough to even out a slowed core, few enough that each thread's
     * stream of weights restarts rarely. Batch-1 decode, alternating settings every few steps within one run,
     * measured 1 and 2 up to ~1.5% faster than 8 and 32 clearly slower (+2.5%); 4 keeps most of the balancing.
     */
    private static final int CHUNKS_PER_THREAD = 4;

    private static final long SPIN_NANOS = 200_000;

    /** One loop: its body, its cursor and the workers inside it. */
    private static final class Job {
        final Range body;
        final int total;
        final int grain;
        final AtomicInteger cursor = new AtomicInteger();
        final AtomicInteger active = new AtomicInteger();
        volatile Throwable failure;

        Job(Range body, int total, int grain) {
            this.body = body;
            this.total = total;
            this.grain = grain;
        }

        /** Claims and runs chunks until none is left. */
        void drain(int part) {
            int from;
            while ((from = cursor.getAndAdd(grain)) < total) {
                body.run(part, from, Math.min(total, from + grain));
            }
        }
    }

    private final int size;
    private final Thread[] workers;
    /** 1 while a worker is parked (or about to park): the caller then unparks it. */
    private final AtomicIntegerArray parked;

    private volatile Job job;
    private volatile boolean closed;

    ComputeTeam(int size) {
        this.size = Math.max(1, size);
        this.workers = new Thread[this.size - 1];
        this.parked = new AtomicIntegerArray(Math.max(1, this.size - 1));
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            workers[i] =
                    Thread.ofPlatform().name("compute-" + part).daemon(true).start(() -> work(part));
        }
    }

    int size() {
        return size;
    }

    /**
     * Runs {@code r} over [0, n) in chunks whose starts are multiples of {@code align} (kernels that take rows in
     * pairs keep their pairs); returns when all chunks are done.
     */
    void run(int n, int align, Range r) {
        if (size == 1 || n < 2) {
            r.run(0, 0, n);
            return;
        }
        int a = Math.max(1, align);
        int grain = Math.max(1, n / (size * CHUNKS_PER_THREAD));
        grain = (grain + a - 1) / a * a;
        Job j = new Job(r, n, grain);
        job = j;
        for (int i = 0; i < workers.length; i++) {
            if (parked.get(i) == 1) {
                LockSupport.unpark(workers[i]);
            }
        }
        try {
            j.drain(0);
        } catch (Throwable t) {
            j.failure = t;
            j.cursor.set(n); // stop the others early; they finish the chunk in hand
        }
        // Every chunk is claimed now; wait only for those still running. A worker that joins later finds none.
        while (j.active.get() > 0) {
            Thread.onSpinWait();
        }
        Throwable f = j.failure;
        if (f != null) {
            throw new IllegalStateException("a compute thread failed", f);
        }
    }

    /** {@link #run(int, int, Range)} with no alignment. */
    void run(int n, Range r) {
        run(n, 1, r);
    }

    private void work(int part) {
        Job seen = null;
        while (!closed) {
            Job j = job;
            if (j == seen || j == null) {
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                while (job == j && !closed) {
                    if (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                    } else {
                        parked.set(part - 1, 1);
                        if (job == j && !closed) {
                            LockSupport.parkNanos(1_000_000);
                        }
                        parked.set(part - 1, 0);
                    }
                }
                continue;
            }
            seen = j;
            j.active.incrementAndGet();
            try {
                j.drain(part);
            } catch (Throwable t) {
                j.failure = t;
                j.cursor.set(j.total);
            } finally {
                j.active.decrementAndGet();
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
