package dev.tandem.orchestrator.http;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;

/**
 * One client connection: reads a request, runs the handler, writes the answer, and repeats while both sides keep
 * the connection alive. Runs on its own virtual thread. A request the server refuses (framing, limits, timeouts)
 * is answered with an error body and the connection closed, since no later byte on it can be trusted.
 */
final class HttpConnection implements Runnable {

    private static final System.Logger LOG = System.getLogger(HttpConnection.class.getName());
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** How long, and how much, a closing connection still reads so the client gets its answer (lingering close). */
    private static final long LINGER_MILLIS = 2_000;

    private static final long LINGER_BYTES = 1 << 20;

    private final Socket socket;
    private final HttpLimits limits;
    private final HttpHandler handler;
    private final ErrorRenderer errors;
    private final HttpServer.Counters counters;
    private ConnectionOutput out;
    /** Between a request's head and its response's end. */
    private volatile boolean busy;
    /** The server drains: answer the request in progress with {@code Connection: close}, take no other. */
    private volatile boolean draining;

    HttpConnection(
            Socket socket, HttpLimits limits, HttpHandler handler, ErrorRenderer errors, HttpServer.Counters counters) {
        this.socket = socket;
        this.limits = limits;
        this.handler = handler;
        this.errors = errors;
        this.counters = counters;
    }

    /** When the write in progress began, or 0; read by the server's watchdog. */
    long blockedSinceNanos() {
        ConnectionOutput o = out;
        return o == null ? 0 : o.blockedSinceNanos();
    }

    /** Closes the connection now when it waits for a request, else after the response in progress. */
    void drain() {
        draining = true;
        if (!busy) {
            close();
        }
    }

    void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is all that was asked
        }
    }

    @Override
    public void run() {
        ConnectionInput in;
        try {
            socket.setTcpNoDelay(true); // small SSE writes must not wait for the client's delayed ACK (Nagle)
            in = new ConnectionInput(socket);
            out = new ConnectionOutput(socket.getOutputStream());
        } catch (IOException e) {
            close();
            return;
        }
        RequestReader reader = new RequestReader(in, limits);
        HttpResponse response = null;
        try {
            while (true) {
                in.awaitRequest(limits.idleTimeout().toMillis());
                busy = true;
                response = null;
                RequestHead head = reader.readHead();
                if (head == null) {
                    break;
                }
                byte[] body = reader.readBody(head, () -> {
                    out.write(CONTINUE);
                    out.flush();
                });
                response = new HttpResponse(out, head.minorVersion(), head.keepAlive() && !draining);
                counters.requests.increment();
                serve(
                        new HttpRequest(
                                head.method(), head.path(), head.query(), head.minorVersion(), head.headers(), body),
                        response);
                response.finish();
                if (!response.keepAlive()) {
                    lingeringClose(in);
                    return;
                }
                busy = false;
                if (draining) {
                    break;
                }
            }
        } catch (ProtocolException e) {
            counters.protocolErrors.increment();
            if (e.status() == 408) {
                counters.readTimeouts.increment();
            }
            LOG.log(System.Logger.Level.DEBUG, "refused a request: {0} {1}", e.status(), e.getMessage());
            if (response == null || !response.committed()) {
                HttpResponse r = new HttpResponse(out, 1, false);
                try {
                    r.send(e.status(), "application/json", errors.render(e.status(), e.code(), e.getMessage()));
                } catch (UncheckedIOException gone) {
                    counters.clientAborts.increment();
                }
            }
            lingeringClose(in);
            return;
        } catch (ConnectionInput.IdleTimeout e) {
            counters.idleTimeouts.increment();
        } catch (EOFException | SocketException e) {
            // The client left mid-request or reset the connection: normal, not worth a log line above debug.
            counters.clientAborts.increment();
            LOG.log(System.Logger.Level.DEBUG, "client left: {0}", e.getMessage());
        } catch (IOException | UncheckedIOException e) {
            counters.clientAborts.increment();
            LOG.log(System.Logger.Level.DEBUG, "connection failed: {0}", e.getMessage());
        }
        close();
    }

    private void serve(HttpRequest request, HttpResponse response) throws IOException {
        try {
            handler.handle(request, response);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (Exception e) {
            // The handler answers its own errors; reaching here is a bug, worth its stack trace once.
            LOG.log(System.Logger.Level.ERROR, "handler failed on " + request.method() + " " + request.path(), e);
            counters.handlerFailures.increment();
            if (response.committed()) {
                throw new IOException("the handler failed after the response started", e);
            }
            response.closeConnection();
            response.send(500, "application/json", errors.render(500, "internal_error", "Internal server error"));
        }
        if (out.broken()) {
            throw new SocketException("the client went away");
        }
        if (!response.committed()) {
            LOG.log(System.Logger.Level.ERROR, "handler sent no response on {0} {1}", request.method(), request.path());
            response.closeConnection();
            response.send(500, "application/json", errors.render(500, "internal_error", "Internal server error"));
        }
    }

    private void lingeringClose(ConnectionInput in) {
        try {
            out.flush();
            socket.shutdownOutput();
            in.drain(LINGER_MILLIS, LINGER_BYTES);
        } catch (IOException ignored) {
            // the client is gone already
        }
        close();
    }
}
