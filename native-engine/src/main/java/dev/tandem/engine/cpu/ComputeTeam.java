package dev.tandem.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of compute threads that share loops. Between loops the workers spin briefly (the next product of a
 * forward pass arrives within microseconds) and then park, so an idle engine costs no CPU. This replaces a fork/join
 * submission per matrix product, whose overhead was a large share of a batch-1 decode step.
 *
 * <p>Each thread owns one contiguous share of a loop and walks it front to back, so its weights arrive as one
 * unbroken stream. A thread that runs out steals the back half of what another has not yet claimed: on a shared
 * machine one core is often slowed by another process, and with a fixed split the other thread then waited for it (a
 * third of a batch-1 decode step in a profile). The owner claims its share in pieces that shrink as it drains (half
 * of what is left, down to a few rows), so what it holds when the others run out is small. In a stand-alone replay of
 * a decode step's 49 products (schemes alternated within one process, median of paired periods), this streamed ~2%
 * faster than chunks claimed from one shared cursor and matched a fixed split, within ~4% of one single product over
 * the same bytes. Each thread counts its finished items in its own cache line, so that the caller's wait does not
 * contend with the threads still working.
 *
 * <p>Waits spin only briefly, then yield: when the scheduler puts both threads of a team on one core (it does, for
 * milliseconds at a time, whenever another process takes the other core), a pure spin burns the time slice that the
 * awaited thread needs. A scheduler trace of batch-1 decode showed exactly that ping-pong.
 *
 * <p>One caller at a time (the engine thread).
 */
final class ComputeTeam implements AutoCloseable {

    /** A loop body over [from, to); {@code part} identifies per-thread scratch (0 is the caller). */
    interface Range {
        void run(int part, int from, int to);
    }

    /** An owner claims this fraction (1/n) of its unclaimed share at a time. */
    private static final int CLAIM_DIVISOR = 2;

    /**
     * The same for loops whose items differ in cost (attention over positions of a prefill chunk, where a later
     * position attends to more keys): finer claims leave more to steal, at no cost to a weight stream.
     */
    private static final int UNEVEN_CLAIM_DIVISOR = 8;

    /** The smallest claim in rows (or items): a microsecond or two of streaming for a matrix row range. */
    private static final int MIN_CLAIM = 16;

    /** How long an idle worker waits for the next loop before it parks (a decode step has gaps of microseconds). */
    private static final long SPIN_NANOS = 1_000_000;

    /** How long a wait spins before it starts yielding its core. */
    private static final long PURE_SPIN_NANOS = 10_000;

    /** Longs between two threads' range words, so that each sits on its own cache line. */
    private static final int STRIDE = 16;

    /**
     * One loop: its body, every thread's unclaimed range ({@code next << 32 | end}) and the count of finished items.
     */
    private static final class Job {
        final Range body;
        final int total;
        final int align;
        final int minClaim;
        final int parts;
        final int divisor;
        final AtomicLongArray ranges;
        final AtomicLongArray doneSlots;
        final AtomicInteger active = new AtomicInteger();
        volatile Throwable failure;

        Job(Range body, int total, int align, int minClaim, int parts, int divisor) {
            this.body = body;
            this.divisor = divisor;
            this.total = total;
            this.align = align;
            this.minClaim = minClaim;
            this.parts = parts;
            this.ranges = new AtomicLongArray(parts * STRIDE);
            this.doneSlots = new AtomicLongArray(parts * STRIDE);
            for (int p = 0; p < parts; p++) {
                ranges.set(p * STRIDE, pack(boundary(p), boundary(p + 1)));
            }
        }

        long doneCount() {
            long d = 0;
            for (int p = 0; p < parts; p++) {
                d += doneSlots.get(p * STRIDE);
            }
            return d;
        }

        /** Start of thread {@code p}'s initial share: an aligned, even split. */
        private int boundary(int p) {
            return p >= parts ? total : (int) ((long) total * p / parts) / align * align;
        }

        /** Runs this thread's share, then steals from the others until nothing is left unclaimed. */
        void drain(int part) {
            do {
                runOwn(part);
            } while (steal(part));
        }

        private void runOwn(int part) {
            int slot = part * STRIDE;
            while (true) {
                long r = ranges.get(slot);
                int next = next(r);
                int end = end(r);
                if (next >= end) {
                    return;
                }
                int len = Math.max(minClaim, (end - next) / divisor);
                int to = Math.min(end, next + (len + align - 1) / align * align);
                if (ranges.compareAndSet(slot, r, pack(to, end))) {
                    try {
                        body.run(part, next, to);
                    } finally {
                        doneSlots.getAndAdd(slot, to - next);
                    }
                }
            }
        }

        /** Moves the back half of another thread's unclaimed range (all of it, if small) into this thread's. */
        private boolean steal(int part) {
            for (int k = 1; k < parts; k++) {
                int victim = (part + k) % parts;
                int slot = victim * STRIDE;
                while (true) {
                    long r = ranges.get(slot);
                    int next = next(r);
                    int end = end(r);
                    if (next >= end) {
                        break;
                    }
                    int rest = end - next;
                    int mid = rest < 2 * minClaim ? next : next + ((rest + 1) / 2 + align - 1) / align * align;
                    if (mid >= end) {
                        mid = next;
                    }
                    if (ranges.compareAndSet(slot, r, pack(next, mid))) {
                        ranges.set(part * STRIDE, pack(mid, end));
                        return true;
                    }
                }
            }
            return false;
        }

        /** Stops every unclaimed range, counting its items as done, so that the caller stops waiting. */
        void abandon() {
            for (int p = 0; p < parts; p++) {
                int slot = p * STRIDE;
                while (true) {
                    long r = ranges.get(slot);
                    int next = next(r);
                    int end = end(r);
                    if (next >= end || ranges.compareAndSet(slot, r, pack(end, end))) {
                        if (next < end) {
                            doneSlots.getAndAdd(slot, end - next);
                        }
                        break;
                    }
                }
            }
        }

        private static long pack(int next, int end) {
            return (long) next << 32 | (end & 0xFFFF_FFFFL);
        }

        private static int next(long r) {
            return (int) (r >>> 32);
        }

        private static int end(long r) {
            return (int) r;
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
        int a = Math.max(1, align);
        // Small loops (a decode step's attention heads) still split into single items.
        run(n, a, Math.max(a, Math.min(MIN_CLAIM, n / (size * MIN_CLAIM))), CLAIM_DIVISOR, r);
    }

    /** {@link #run(int, int, Range)} with no alignment. */
    void run(int n, Range r) {
        run(n, 1, r);
    }

    /** Runs {@code r} over [0, n) whose items differ in cost: claims are finer, down to single items. */
    void runUneven(int n, Range r) {
        run(n, 1, 1, UNEVEN_CLAIM_DIVISOR, r);
    }

    private void run(int n, int a, int minClaim, int divisor, Range r) {
        if (size == 1 || n < 2) {
            r.run(0, 0, n);
            return;
        }
        Job j = new Job(r, n, a, minClaim, size, divisor);
        job = j;
        for (int i = 0; i < workers.length; i++) {
            if (parked.get(i) == 1) {
                LockSupport.unpark(workers[i]);
            }
        }
        j.active.incrementAndGet();
        try {
            j.drain(0);
        } catch (Throwable t) {
            j.failure = t;
            j.abandon();
        } finally {
            j.active.decrementAndGet();
        }
        long waitStart = System.nanoTime();
        while (j.doneCount() < n) {
            pause(waitStart);
        }
        Throwable f = j.failure;
        if (f != null) {
            // A failed chunk counts as done; let the others leave the loop before the caller moves on.
            while (j.active.get() > 0) {
                pause(waitStart);
            }
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
                j.abandon();
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
