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
 * started, only for chunks already claimed. Chunks shrink as the loop drains (each claim takes a share of what is
 * left, down to a few rows), so each thread starts with one long contiguous stream of weights and the loop ends with
 * pieces small enough that the last one finishes soon after the others.
 *
 * <p>Waits spin only briefly, then yield: when the scheduler puts both threads of a team on one core (it does, for
 * milliseconds at a time, whenever another process takes the other core), a pure spin burns the time slice that the
 * awaited thread needs. A scheduler trace of batch-1 decode showed exactly that ping-pong, and the caller's wait for
 * the last chunk halved once waits yielded.
 *
 * <p>One caller at a time (the engine thread).
 */
final class ComputeTeam implements AutoCloseable {

    /** A loop body over [from, to); {@code part} identifies per-thread scratch (0 is the caller). */
    interface Range {
        void run(int part, int from, int to);
    }

    /**
     * Each claim takes {@code 1 / (CLAIM_DIVISOR × threads)} of the rows still unclaimed, so two threads start with a
     * quarter of the loop each and the pieces shrink geometrically (guided self-scheduling).
     */
    private static final int CLAIM_DIVISOR = 2;

    /** The smallest claim in rows (or items): a few microseconds of streaming for a matrix row range. */
    private static final int MIN_CLAIM = 16;

    /** How long an idle worker waits for the next loop before it parks (a decode step has gaps of microseconds). */
    private static final long SPIN_NANOS = 1_000_000;

    /** How long a wait spins before it starts yielding its core. */
    private static final long PURE_SPIN_NANOS = 10_000;

    /** One loop: its body, its cursor and the workers inside it. */
    private static final class Job {
        final Range body;
        final int total;
        final int align;
        final int minClaim;
        final int divisor;
        final AtomicInteger cursor = new AtomicInteger();
        final AtomicInteger active = new AtomicInteger();
        volatile Throwable failure;

        Job(Range body, int total, int align, int minClaim, int divisor) {
            this.body = body;
            this.total = total;
            this.align = align;
            this.minClaim = minClaim;
            this.divisor = divisor;
        }

        /** Claims and runs chunks until none is left; chunk starts stay multiples of {@code align}. */
        void drain(int part) {
            int from;
            while ((from = cursor.get()) < total) {
                int len = Math.max(minClaim, (total - from) / divisor);
                int to = Math.min(total, from + (len + align - 1) / align * align);
                if (cursor.compareAndSet(from, to)) {
                    body.run(part, from, to);
                }
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
        // Small loops (a decode step's attention heads) still split into single items.
        int minClaim = Math.max(a, Math.min(MIN_CLAIM, n / (size * MIN_CLAIM)));
        Job j = new Job(r, n, a, minClaim, CLAIM_DIVISOR * size);
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
        long waitStart = System.nanoTime();
        while (j.active.get() > 0) {
            pause(waitStart);
        }
        Throwable f = j.failure;
        if (f != null) {
            throw new IllegalStateException("a compute thread failed", f);
        }
    }

    /** One turn of a wait that began at {@code since}: a pure spin at first, then a yield of the core. */
    private static void pause(long since) {
        if (System.nanoTime() - since > PURE_SPIN_NANOS) {
            Thread.yield();
        } else {
            Thread.onSpinWait();
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
                long idleSince = System.nanoTime();
                while (job == j && !closed) {
                    if (System.nanoTime() - idleSince < SPIN_NANOS) {
                        pause(idleSince);
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
