package dev.tandem.orchestrator.http;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;

/**
 * The buffered read side of one connection, with the two clocks HTTP needs: while waiting for a request the idle
 * timeout applies (expiry closes quietly); from a request's first byte to its last body byte one deadline applies
 * (expiry is a 408). Each socket read is bounded by what is left of the clock in force, so a client that trickles
 * bytes cannot extend it. Used by the connection's one thread.
 */
final class ConnectionInput {

    /** The connection waited for a request longer than the idle timeout: close without an answer. */
    static final class IdleTimeout extends IOException {
        IdleTimeout() {
            super("idle timeout", null);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final byte[] buf = new byte[16 << 10];
    private int pos;
    private int lim;
    private long deadline;
    private boolean idle;
    private long idleMillis;

    ConnectionInput(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
    }

    /** Waits for the next request under the idle timeout. */
    void awaitRequest(long idleMillis) {
        this.idle = true;
        this.idleMillis = idleMillis;
    }

    /** The first byte of a request arrived (or is buffered): its deadline starts now. */
    void startRequest(long readTimeoutNanos) {
        idle = false;
        deadline = System.nanoTime() + readTimeoutNanos;
    }

    /** Whether bytes of a pipelined request are already buffered. */
    boolean hasBuffered() {
        return pos < lim;
    }

    /** The next byte, or -1 at end of stream. */
    int read() throws IOException {
        if (pos == lim && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    /** The next byte; the end of the stream here means the client left mid-request. */
    int readRequired() throws IOException {
        int b = read();
        if (b < 0) {
            throw new EOFException("the client closed the connection mid-request");
        }
        return b;
    }

    /** Reads exactly {@code n} bytes into {@code dst} at {@code off}. */
    void readFully(byte[] dst, int off, int n) throws IOException {
        while (n > 0) {
            if (pos == lim && !fill()) {
                throw new EOFException("the client closed the connection mid-body");
            }
            int k = Math.min(n, lim - pos);
            System.arraycopy(buf, pos, dst, off, k);
            pos += k;
            off += k;
            n -= k;
        }
    }

    private boolean fill() throws IOException {
        long timeoutMillis;
        if (idle) {
            timeoutMillis = idleMillis;
        } else {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw timedOut();
            }
            timeoutMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
        int n;
        try {
            n = in.read(buf, 0, buf.length);
        } catch (SocketTimeoutException e) {
            if (idle) {
                throw new IdleTimeout();
            }
            throw timedOut();
        }
        if (n <= 0) {
            return false;
        }
        pos = 0;
        lim = n;
        return true;
    }

    private static ProtocolException timedOut() {
        return new ProtocolException(
                408, "request_timeout", "The request was not received within the server's read timeout");
    }

    /**
     * Reads and drops what the client still sends, for at most {@code millis} or {@code maxBytes}, so that closing
     * a socket with unread input (which makes the kernel send a reset) cannot destroy the answer before the client
     * read it.
     */
    void drain(long millis, long maxBytes) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        long dropped = 0;
        byte[] sink = new byte[8192];
        try {
            while (dropped < maxBytes) {
                long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
                if (left <= 0) {
                    return;
                }
                socket.setSoTimeout((int) left);
                int n = in.read(sink);
                if (n < 0) {
                    return;
                }
                dropped += n;
            }
        } catch (IOException e) {
            // timed out or reset: either way there is nothing more to wait for
        }
    }
}
