package dev.tandem.engine;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The built-in engine: an {@link EngineCore} stepped by one dedicated platform thread. Callers talk to it through a
 * lock-free inbox (admissions, aborts, queries), so the scheduling thread owns all scheduler state and never waits
 * on a caller. With a timing-model backend the thread sleeps each step's modeled duration, divided by the speed-up.
 *
 * <p>Admission is bounded: beyond {@code maxWaiting} queued requests {@link #generate} throws OVERLOADED.
 */
public final class BuiltinEngine implements Engine {

    private static final System.Logger LOG = System.getLogger(BuiltinEngine.class.getName());

    private final EngineConfig config;
    private final EngineInfo info;
    private final EngineCore core;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    /** Requests accepted by {@link #generate} still in the inbox, not yet in the scheduler's waiting queue. */
    private final AtomicInteger queued = new AtomicInteger();
    /** The scheduler's waiting queue length, as last published by the engine thread. */
    private volatile int waiting;

    private volatile Thread thread;
    private volatile boolean closed;
    /** Set once the engine thread has stopped taking tasks; a task queued after that is taken back by its caller. */
    private volatile boolean terminated;

    private volatile LoadSnapshot lastLoad;

    public BuiltinEngine(EngineConfig config, EngineCore core) {
        this.config = config;
        this.info = core.info();
        this.core = core;
        this.lastLoad = core.load(config.clock().nanos());
        core.onKvTransfer(() -> {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        });
        this.thread = Thread.ofPlatform()
                .name("engine-" + config.workerId())
                .daemon(true)
                .start(this::run);
    }

    @Override
    public EngineInfo info() {
        return info;
    }

    @Override
    public Generation generate(GenerateRequest request, TokenListener listener) {
        core.validate(request);
        if (closed) {
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "engine " + config.workerId() + " is closed");
        }
        // Waiting = still in the inbox + queued in the scheduler (which also holds preempted sequences).
        if (queued.incrementAndGet() + waiting > config.maxWaiting()) {
            queued.decrementAndGet();
            throw new EngineException(
                    EngineException.Kind.OVERLOADED,
                    "engine " + config.workerId() + " has " + config.maxWaiting() + " requests waiting");
        }
        long now = config.clock().nanos();
        Runnable admit = () -> {
            core.admit(request, listener, now);
            // Publish the longer queue before leaving the inbox count, so that a racing generate over-counts.
            waiting = core.waitingCount();
            queued.decrementAndGet();
        };
        submit(admit);
        if (terminated && inbox.remove(admit)) {
            queued.decrementAndGet();
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "engine " + config.workerId() + " is closed");
        }
        return new Generation() {
            @Override
            public String requestId() {
                return request.requestId();
            }

            @Override
            public void cancel() {
                submit(() -> core.abort(request.requestId()));
            }
        };
    }

    @Override
    public LoadSnapshot load() {
        return lastLoad;
    }

    @Override
    public KvStateDump dumpKvState() {
        if (closed) {
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "engine " + config.workerId() + " is closed");
        }
        CompletableFuture<KvStateDump> f = new CompletableFuture<>();
        Runnable dump = () -> f.complete(core.dumpKvState());
        submit(dump);
        if (terminated && inbox.remove(dump)) {
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "engine " + config.workerId() + " is closed");
        }
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new EngineException(EngineException.Kind.UNAVAILABLE, "no KV dump from the engine", e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        core.backend().close();
        core.closeConnector();
    }

    private void submit(Runnable task) {
        inbox.add(task);
        LockSupport.unpark(thread);
    }

    private void run() {
        try {
            while (!closed) {
                drainInbox();
                waiting = core.waitingCount();
                if (!core.hasWork()) {
                    core.idle();
                    lastLoad = core.load(config.clock().nanos());
                    if (inbox.isEmpty()) {
                        LockSupport.parkNanos(50_000_000L);
                    }
                    continue;
                }
                long modeled = core.step();
                waiting = core.waitingCount();
                lastLoad = core.load(config.clock().nanos());
                if (modeled > 0) {
                    config.clock().sleepNanos((long) (modeled / config.speedup()));
                } else if (modeled < 0) {
                    // Nothing schedulable (all blocks held by sequences that cannot grow): wait for an abort.
                    LockSupport.parkNanos(1_000_000L);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            failAll(e);
        } finally {
            drainInbox();
            core.abortAll(FinishReason.CANCELLED);
            terminated = true;
            // Tasks queued before 'terminated' became visible are still ours: end them too.
            drainInbox();
            core.abortAll(FinishReason.CANCELLED);
            core.publishEvents();
        }
    }

    private void failAll(Throwable cause) {
        LOG.log(System.Logger.Level.ERROR, "failing every request of engine " + config.workerId(), cause);
        closed = true;
        drainInbox();
        core.abortAll(FinishReason.ERROR);
    }

    private void drainInbox() {
        Runnable r;
        while ((r = inbox.poll()) != null) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "engine task failed", e);
            }
        }
    }
}
