package dev.tandem.discovery.nats;

import dev.tandem.api.events.EventMessage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.Subscription;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.ErrorListener;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The event plane on NATS (core NATS, through jnats): at-most-once, in order per publisher.
 *
 * <ul>
 *   <li>{@link #publish} only queues the message for jnats' writer thread and returns: when the outgoing queue is
 *       full (65,536 messages) or, while disconnected, the reconnect buffer (8 MiB) is, the message is dropped and
 *       counted ({@link #dropped()}), as a slow consumer drops messages; consumers detect the gap through event ids.
 *   <li>Each subscription has its own jnats {@link Dispatcher}, so its handler runs one message at a time, in order,
 *       on a thread of its own; a slow handler delays only its own subscription.
 *   <li>The connection reconnects forever (100 ms doubling to 2 s between rounds, with jitter) and re-subscribes by
 *       itself; a server restart loses what was in flight, nothing more.
 *   <li>{@link #close()} ends the subscriptions, then drains the connection (flushes what was published) and closes
 *       it.
 * </ul>
 */
public final class NatsEventPlane implements EventPlane {

    private static final System.Logger LOG = System.getLogger(NatsEventPlane.class.getName());

    public static final int DEFAULT_PORT = 4222;

    static final int OUTGOING_QUEUE_MESSAGES = 1 << 16;
    static final long RECONNECT_BUFFER_BYTES = 8L << 20;
    private static final Duration SUBSCRIBE_FLUSH = Duration.ofSeconds(2);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(2);

    private final Connection connection;
    private final List<String> servers;
    private final List<NatsSubscription> subscriptions = new CopyOnWriteArrayList<>();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong lastDropWarning = new AtomicLong();
    private volatile boolean closed;
    /** Connected as far as the log knows: a disconnection is logged once, when it happens, not per retry. */
    private volatile boolean up;

    /** Connects to {@code servers} ({@code nats://host:port} each); fails if none answers. */
    public NatsEventPlane(List<String> servers) throws IOException {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("no NATS servers");
        }
        this.servers = List.copyOf(servers);
        Options options = new Options.Builder()
                .servers(servers.toArray(String[]::new))
                .connectionName("tandem")
                .maxReconnects(-1)
                .reconnectWait(Duration.ofMillis(MIN_RECONNECT_MS))
                .reconnectDelayHandler(NatsEventPlane::reconnectDelay)
                .reconnectJitter(Duration.ofMillis(100))
                .reconnectBufferSize(RECONNECT_BUFFER_BYTES)
                .maxMessagesInOutgoingQueue(OUTGOING_QUEUE_MESSAGES)
                .discardMessagesWhenOutgoingQueueFull()
                .connectionTimeout(Duration.ofSeconds(2))
                // A server that vanished without closing the socket is noticed after two missed pings.
                .pingInterval(Duration.ofSeconds(5))
                .errorListener(new Errors())
                .connectionListener(this::connectionEvent)
                .build();
        try {
            this.connection = Nats.connect(options);
            up = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while connecting to NATS at " + String.join(",", servers));
        } catch (IOException e) {
            throw new IOException("cannot connect to NATS at " + String.join(",", servers) + ": " + e.getMessage(), e);
        }
    }

    static final long MIN_RECONNECT_MS = 100;
    static final long MAX_RECONNECT_MS = 2_000;

    /** The wait before reconnect round {@code tries} (1, 2, ...): 100 ms doubling to 2 s. */
    static Duration reconnectDelay(long tries) {
        long shift = Math.clamp(tries - 1, 0, 16);
        return Duration.ofMillis(Math.min(MAX_RECONNECT_MS, MIN_RECONNECT_MS << shift));
    }

    /** {@code nats://host:port[,host:port...]}. */
    public static NatsEventPlane connect(URI uri) throws IOException {
        return new NatsEventPlane(servers(uri));
    }

    /** The servers of a {@code nats://host:port[,host:port...]} URI, each as {@code nats://host:port}. */
    public static List<String> servers(URI uri) {
        if (!"nats".equals(uri.getScheme())) {
            throw new IllegalArgumentException("not a NATS URI (nats://host:port[,host:port...]): " + uri);
        }
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isBlank()) {
            throw new IllegalArgumentException("no host in NATS URI (nats://host:port[,host:port...]): " + uri);
        }
        List<String> out = new ArrayList<>();
        for (String part : authority.split(",")) {
            String hostPort = part.strip();
            if (hostPort.isEmpty()) {
                throw new IllegalArgumentException("empty server in NATS URI " + uri);
            }
            if (hostPort.contains("@")) {
                throw new IllegalArgumentException("credentials in NATS URIs are not supported: " + uri);
            }
            boolean hasPort = hostPort.startsWith("[") ? hostPort.contains("]:") : hostPort.contains(":");
            out.add("nats://" + (hasPort ? hostPort : hostPort + ":" + DEFAULT_PORT));
        }
        return List.copyOf(out);
    }

    public List<String> servers() {
        return servers;
    }

    /** Whether the connection is up now (it reconnects by itself when it is not). */
    public boolean isConnected() {
        return connection.getStatus() == Connection.Status.CONNECTED;
    }

    @Override
    public void publish(String subject, byte[] payload) {
        if (closed) {
            throw new IllegalStateException("NATS event plane is closed");
        }
        try {
            // jnats writes the array later, on its writer thread: the caller may reuse its array at once.
            connection.publish(subject, payload.clone());
        } catch (IllegalStateException e) {
            // The reconnect buffer is full (or the connection closed under us): at-most-once, count and go on.
            drop(e.getMessage());
        }
    }

    private void drop(String why) {
        long n = dropped.incrementAndGet();
        long now = System.nanoTime();
        long last = lastDropWarning.get();
        if ((n == 1 || now - last > TimeUnit.SECONDS.toNanos(10)) && lastDropWarning.compareAndSet(last, now)) {
            LOG.log(System.Logger.Level.WARNING, "NATS: dropping published messages ({0} so far): {1}", n, why);
        }
    }

    /** Published messages dropped because the outgoing queue or the reconnect buffer was full. */
    public long dropped() {
        return dropped.get();
    }

    @Override
    public Subscription subscribe(String subjectPattern, Consumer<EventMessage> handler) {
        if (closed) {
            throw new IllegalStateException("NATS event plane is closed");
        }
        NatsSubscription s = new NatsSubscription(subjectPattern, handler);
        s.dispatcher = connection.createDispatcher(s::onMessage);
        s.dispatcher.subscribe(subjectPattern);
        subscriptions.add(s);
        try {
            // Once the server has processed the SUB, a message published anywhere reaches this subscription.
            // While disconnected this times out; jnats subscribes again when it reconnects.
            connection.flush(SUBSCRIBE_FLUSH);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "NATS: subscription to {0} not confirmed yet: {1}",
                    subjectPattern,
                    e.getMessage());
        }
        return s;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        subscriptions.forEach(NatsSubscription::end);
        subscriptions.clear();
        try {
            if (connection.getStatus() == Connection.Status.CONNECTED) {
                connection.drain(DRAIN_TIMEOUT).get(DRAIN_TIMEOUT.toMillis() + 1_000, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "NATS: drain on close failed: {0}", e.toString());
        } finally {
            try {
                connection.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void connectionEvent(Connection conn, ConnectionListener.Events event) {
        switch (event) {
            case DISCONNECTED -> {
                if (up && !closed) {
                    LOG.log(System.Logger.Level.WARNING, "NATS: disconnected from {0}; reconnecting", servers);
                }
                up = false;
            }
            case RECONNECTED -> {
                up = true;
                LOG.log(System.Logger.Level.INFO, "NATS: reconnected to {0}", conn.getConnectedUrl());
            }
            default -> LOG.log(System.Logger.Level.DEBUG, "NATS: {0}", event);
        }
    }

    private final class Errors implements ErrorListener {
        @Override
        public void errorOccurred(Connection conn, String error) {
            LOG.log(System.Logger.Level.WARNING, "NATS server error: {0}", error);
        }

        @Override
        public void exceptionOccurred(Connection conn, Exception exp) {
            if (!closed) {
                LOG.log(System.Logger.Level.DEBUG, "NATS: {0}", exp.toString());
            }
        }

        @Override
        public void slowConsumerDetected(Connection conn, io.nats.client.Consumer consumer) {
            LOG.log(System.Logger.Level.WARNING, "NATS: a subscriber fell behind; messages dropped for it");
        }

        @Override
        public void messageDiscarded(Connection conn, Message msg) {
            if (msg.getSubject() != null) {
                drop("the outgoing queue is full");
            } else {
                // A protocol message (SUB, UNSUB, PING) that jnats could not queue.
                LOG.log(System.Logger.Level.DEBUG, "NATS: a protocol message was discarded");
            }
        }
    }

    private final class NatsSubscription implements Subscription {
        final String pattern;
        final Consumer<EventMessage> handler;
        /** Held while the handler runs, so that {@link #close()} returns only once no call is in progress. */
        final ReentrantLock delivering = new ReentrantLock();

        volatile Dispatcher dispatcher;
        volatile boolean ended;
        /** The dispatcher's thread while it runs the handler. */
        volatile Thread handlerThread;

        NatsSubscription(String pattern, Consumer<EventMessage> handler) {
            this.pattern = pattern;
            this.handler = handler;
        }

        void onMessage(Message m) {
            delivering.lock();
            try {
                if (ended) {
                    return;
                }
                byte[] data = m.getData();
                handlerThread = Thread.currentThread();
                handler.accept(new EventMessage(m.getSubject(), data == null ? new byte[0] : data));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "event handler for " + pattern + " failed; continuing", e);
            } finally {
                handlerThread = null;
                delivering.unlock();
            }
        }

        /** Stops deliveries (waiting for a call in progress unless called from it). */
        void end() {
            ended = true;
            delivering.lock();
            delivering.unlock();
        }

        @Override
        public void close() {
            if (ended) {
                return;
            }
            end();
            subscriptions.remove(this);
            Dispatcher d = dispatcher;
            if (d == null || closed) {
                return;
            }
            if (Thread.currentThread() == handlerThread) {
                // Closing from the handler: jnats would interrupt this very thread (and lose the UNSUB with it).
                Thread.ofVirtual().name("nats-unsubscribe").start(() -> closeDispatcher(d));
            } else {
                closeDispatcher(d);
            }
        }

        private void closeDispatcher(Dispatcher d) {
            try {
                connection.closeDispatcher(d);
            } catch (IllegalStateException e) {
                // the connection closed meanwhile
            }
        }
    }
}
