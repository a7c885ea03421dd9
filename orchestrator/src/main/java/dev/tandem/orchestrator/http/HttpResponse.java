package dev.tandem.orchestrator.http;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * The response to one request: either one body ({@link #send}) or a stream ({@link #stream}) that goes to the client
 * each time it is flushed, chunked for HTTP/1.1 and delimited by the close for HTTP/1.0. Framing headers
 * (Content-Length, Transfer-Encoding, Connection) are the server's; a handler sets only its own. A client that left
 * surfaces as {@link UncheckedIOException}. Used by the request's one thread.
 */
public final class HttpResponse {

    private enum State {
        NEW,
        STREAMING,
        DONE
    }

    private static final byte[] CRLF = {'\r', '\n'};
    private static volatile String cachedDate = "";
    private static volatile long cachedDateSecond = -1;

    private final ConnectionOutput out;
    private final int minorVersion;
    private boolean keepAlive;
    private final List<String> headers = new ArrayList<>();
    private State state = State.NEW;
    private OutputStream stream;
    private int status;

    HttpResponse(ConnectionOutput out, int minorVersion, boolean keepAlive) {
        this.out = out;
        this.minorVersion = minorVersion;
        this.keepAlive = keepAlive;
    }

    /** Adds a header field; only before the response starts. */
    public void header(String name, String value) {
        if (state != State.NEW) {
            throw new IllegalStateException("the response has started");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
                throw new IllegalArgumentException("a header value may not hold control characters");
            }
        }
        headers.add(name + ": " + value);
    }

    /** Whether the response has started (its head may already be on the wire). */
    public boolean committed() {
        return state != State.NEW;
    }

    /** The status sent, or 0 before the response started. */
    public int status() {
        return status;
    }

    /** Closes the connection after this response (the response says so). */
    public void closeConnection() {
        if (state != State.NEW) {
            throw new IllegalStateException("the response has started");
        }
        keepAlive = false;
    }

    boolean keepAlive() {
        return keepAlive && !out.broken();
    }

    /** Sends a complete response and flushes it. */
    public void send(int status, String contentType, byte[] body) {
        start(status);
        try {
            writeHead(status, contentType, "Content-Length: " + body.length);
            out.write(body);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        state = State.DONE;
    }

    /**
     * Starts a streamed response and flushes its head. Each {@code flush()} of the returned stream sends what was
     * written since; {@code close()} ends the response (the connection stays open for HTTP/1.1).
     */
    public OutputStream stream(int status, String contentType) {
        start(status);
        boolean chunked = minorVersion == 1;
        if (!chunked) {
            keepAlive = false; // HTTP/1.0 knows no chunks: the end of the body is the close of the connection
        }
        try {
            writeHead(status, contentType, chunked ? "Transfer-Encoding: chunked" : null);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        state = State.STREAMING;
        stream = chunked ? new ChunkedStream() : new RawStream();
        return stream;
    }

    private void start(int status) {
        if (state != State.NEW) {
            throw new IllegalStateException("the response has started");
        }
        this.status = status;
    }

    private void writeHead(int status, String contentType, String framing) throws IOException {
        StringBuilder h = new StringBuilder(256);
        h.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
        h.append("Date: ").append(date()).append("\r\n");
        if (contentType != null) {
            h.append("Content-Type: ").append(contentType).append("\r\n");
        }
        if (framing != null) {
            h.append(framing).append("\r\n");
        }
        if (!keepAlive) {
            h.append("Connection: close\r\n");
        }
        for (String header : headers) {
            h.append(header).append("\r\n");
        }
        h.append("\r\n");
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Ends a streamed response if the handler did not; called by the server after the handler returns. */
    void finish() throws IOException {
        if (state == State.STREAMING) {
            stream.close();
        }
        out.flush();
    }

    private final class ChunkedStream extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (state != State.STREAMING) {
                throw new IOException("the response has ended");
            }
            if (len == 0) {
                return; // an empty chunk would end the body
            }
            out.write(Integer.toHexString(len).getBytes(StandardCharsets.US_ASCII));
            out.write(CRLF);
            out.write(b, off, len);
            out.write(CRLF);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            if (state == State.STREAMING) {
                state = State.DONE;
                out.write(new byte[] {'0', '\r', '\n', '\r', '\n'});
                out.flush();
            }
        }
    }

    private final class RawStream extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (state != State.STREAMING) {
                throw new IOException("the response has ended");
            }
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            state = State.DONE;
            out.flush();
        }
    }

    private static String date() {
        long now = System.currentTimeMillis() / 1000;
        if (now != cachedDateSecond) {
            cachedDate = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC));
            cachedDateSecond = now;
        }
        return cachedDate;
    }

    static String reason(int status) {
        return switch (status) {
            case 100 -> "Continue";
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 417 -> "Expectation Failed";
            case 422 -> "Unprocessable Content";
            case 429 -> "Too Many Requests";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> "Status " + status;
        };
    }
}
