package dev.tandem.discovery.etcd;

import io.etcd.jetcd.Client;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Caps the reconnect backoff of jetcd's gRPC channel.
 *
 * <p>gRPC backs off between connection attempts from 1 s up to 120 s, so after an etcd outage of a minute a client
 * could wait another minute before it tries again, and a worker's lease would run out meanwhile. jetcd offers no
 * setting for it, so this pacer looks at the channel every 100 ms and, while it is in TRANSIENT_FAILURE, makes it try
 * again ({@link ManagedChannel#resetConnectBackoff()}) after 250 ms, then 500 ms, 1 s and 2 s thereafter, until the
 * channel is READY again.
 *
 * <p>The channel is not public in jetcd: it is reached by reflection (the field {@code connectionManager} of
 * {@code io.etcd.jetcd.impl.ClientImpl} and its method {@code getChannel()}). Where that fails (another jetcd
 * version), the pacer logs why once and does nothing; gRPC's own backoff then applies.
 */
final class ReconnectPacer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ReconnectPacer.class.getName());

    static final long FIRST_DELAY_MS = 250;
    static final long MAX_DELAY_MS = 2_000;
    private static final long TICK_MS = 100;

    private final ManagedChannel channel;
    private final String name;
    private final ScheduledExecutorService timer;
    private long delayMs = FIRST_DELAY_MS;
    private long failingSinceNanos;
    private long nextResetNanos;
    private boolean failing;

    private ReconnectPacer(ManagedChannel channel, String name) {
        this.channel = channel;
        this.name = name;
        this.timer = channel == null
                ? null
                : Executors.newSingleThreadScheduledExecutor(
                        Thread.ofPlatform().daemon().name("etcd-reconnect").factory());
        if (timer != null) {
            timer.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
        }
    }

    static ReconnectPacer start(Client client, String name) {
        return new ReconnectPacer(channelOf(client), name);
    }

    private static ManagedChannel channelOf(Client client) {
        try {
            Field f = client.getClass().getDeclaredField("connectionManager");
            f.setAccessible(true);
            Object manager = f.get(client);
            Method m = manager.getClass().getDeclaredMethod("getChannel");
            m.setAccessible(true);
            return (ManagedChannel) m.invoke(manager);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.log(
                    System.Logger.Level.INFO,
                    "cannot reach jetcd's gRPC channel ({0}); reconnects to etcd use gRPC's own backoff (up to 120 s)",
                    e.toString());
            return null;
        }
    }

    private void tick() {
        try {
            ConnectivityState state = channel.getState(false);
            long now = System.nanoTime();
            if (state == ConnectivityState.TRANSIENT_FAILURE) {
                if (!failing) {
                    failing = true;
                    failingSinceNanos = now;
                    delayMs = FIRST_DELAY_MS;
                    nextResetNanos = now + TimeUnit.MILLISECONDS.toNanos(delayMs);
                    LOG.log(System.Logger.Level.INFO, "{0} unreachable; reconnecting", name);
                } else if (now - nextResetNanos >= 0) {
                    channel.resetConnectBackoff();
                    delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
                    nextResetNanos = now + TimeUnit.MILLISECONDS.toNanos(delayMs);
                }
            } else if (state == ConnectivityState.READY && failing) {
                failing = false;
                LOG.log(
                        System.Logger.Level.INFO,
                        "{0} reachable again after {1} ms",
                        name,
                        TimeUnit.NANOSECONDS.toMillis(now - failingSinceNanos));
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "reconnect pacer tick failed", e);
        }
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
