package dev.tandem.orchestrator.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Tandem's HTTP/1.1 server: one virtual thread per connection over blocking sockets, strict framing
 * ({@link RequestReader}), the limits of {@link HttpLimits} enforced before any handler runs, TCP_NODELAY on every
 * connection, and every error it answers itself rendered by the application's {@link ErrorRenderer}.
 *
 * <p>Threads: one platform thread accepts; each connection runs on its own virtual thread; one daemon watchdog
 * closes connections whose writes have been blocked past the idle timeout (a client that stopped reading).
 */
public final class HttpServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(HttpServer.class.getName());

    /** What the server counted since it started; read by metrics. */
    public record Stats(
            long connections,
            long rejectedConnections,
            long requests,
            long protocolErrors,
            long readTimeouts,
            long idleTimeouts,
            long clientAborts,
            long stalledWrites,
            long handlerFailures) {}

    static final class Counters {
        final LongAdder connections = new LongAdder();
        final LongAdder rejected = new LongAdder();
        final LongAdder requests = new LongAdder();
        final LongAdder protocolErrors = new LongAdder();
        final LongAdder readTimeouts = new LongAdder();
        final LongAdder idleTimeouts = new LongAdder();
        final LongAdder clientAborts = new LongAdder();
        final LongAdder stalledWrites = new LongAdder();
        final LongAdder handlerFailures = new LongAdder();
    }

    private final HttpLimits limits;
    private final HttpHandler handler;
    private final ErrorRenderer errors;
    private final ServerSocket listener;
    private final Set<HttpConnection> open = ConcurrentHashMap.newKeySet();
    private final Counters counters = new Counters();
    private final AtomicLong ids = new AtomicLong();
    private final ScheduledExecutorService watchdog;
    private final Thread acceptor;
    private volatile boolean closed;

    private HttpServer(HttpLimits limits, HttpHandler handler, ErrorRenderer errors, ServerSocket listener) {
        this.limits = limits;
        this.handler = handler;
        this.errors = errors;
        this.listener = listener;
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tandem-http-watchdog");
            t.setDaemon(true);
            return t;
        });
        this.acceptor = new Thread(this::acceptLoop, "tandem-http-accept");
        this.acceptor.setDaemon(true);
    }

    /** Binds {@code host:port} (0 = ephemeral) and starts serving. */
    public static HttpServer start(String host, int port, HttpLimits limits, HttpHandler handler, ErrorRenderer errors)
            throws IOException {
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(InetAddress.getByName(host), port), 4096);
        HttpServer server = new HttpServer(limits, handler, errors, listener);
        server.acceptor.start();
        server.watchdog.scheduleWithFixedDelay(server::closeStalledWriters, 1, 1, TimeUnit.SECONDS);
        return server;
    }

    public int port() {
        return listener.getLocalPort();
    }

    public Stats stats() {
        Counters c = counters;
        return new Stats(
                c.connections.sum(),
                c.rejected.sum(),
                c.requests.sum(),
                c.protocolErrors.sum(),
                c.readTimeouts.sum(),
                c.idleTimeouts.sum(),
                c.clientAborts.sum(),
                c.stalledWrites.sum(),
                c.handlerFailures.sum());
    }

    /** Open connections now. */
    public int openConnections() {
        return open.size();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.WARNING, "accept failed: {0}", e.getMessage());
                    pause(); // out of file descriptors, say: do not spin on it
                }
                continue;
            }
            counters.connections.increment();
            if (open.size() >= limits.maxConnections()) {
                counters.rejected.increment();
                Thread.ofVirtual().start(() -> refuse(s));
                continue;
            }
            HttpConnection c = new HttpConnection(s, limits, handler, errors, counters);
            open.add(c);
            Thread.ofVirtual().name("tandem-http-" + ids.incrementAndGet()).start(() -> {
                try {
                    c.run();
                } finally {
                    open.remove(c);
                }
            });
        }
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Past the connection limit: a 503 and a close, written without reading the request. */
    private void refuse(Socket s) {
        try (s) {
            s.setSoTimeout(1000);
            byte[] body = errors.render(503, "too_many_connections", "The server is at its connection limit");
            String head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                    + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n";
            OutputStream o = s.getOutputStream();
            o.write(head.getBytes(StandardCharsets.US_ASCII));
            o.write(body);
            o.flush();
            s.shutdownOutput();
        } catch (IOException ignored) {
            // the client is gone; nothing more to do for it
        }
    }

    private void closeStalledWriters() {
        long now = System.nanoTime();
        long limit = limits.idleTimeout().toNanos();
        for (HttpConnection c : open) {
            long since = c.blockedSinceNanos();
            if (since != 0 && now - since > limit) {
                counters.stalledWrites.increment();
                LOG.log(System.Logger.Level.DEBUG, "closing a connection whose client stopped reading");
                c.close();
            }
        }
    }

    /**
     * Stops accepting, closes the connections that wait for a request, and lets the requests in progress finish
     * (their responses say {@code Connection: close}) for up to {@code timeout}; then closes what is left. Returns
     * whether every request finished in time.
     */
    public boolean drain(java.time.Duration timeout) throws InterruptedException {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // already closed
        }
        open.forEach(HttpConnection::drain);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!open.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        boolean finished = open.isEmpty();
        close();
        return finished;
    }

    /** Stops accepting and closes every connection (requests in flight see their client leave). */
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // already closed
        }
        watchdog.shutdownNow();
        open.forEach(HttpConnection::close);
    }
}
