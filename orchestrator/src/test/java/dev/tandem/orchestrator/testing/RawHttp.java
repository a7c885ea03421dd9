package dev.tandem.orchestrator.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A raw-socket HTTP/1.1 client for wire-level tests: sends exactly the bytes given and parses exactly what comes
 * back (status lines, header fields, Content-Length, chunked and close-delimited bodies), with no leniency that
 * could hide a server's mistake.
 */
public final class RawHttp implements AutoCloseable {

    /** One parsed response. */
    public record Response(String statusLine, int status, List<String> headers, byte[] body) {
        public String header(String name) {
            for (String h : headers) {
                int c = h.indexOf(':');
                if (c > 0 && h.substring(0, c).equalsIgnoreCase(name)) {
                    return h.substring(c + 1).strip();
                }
            }
            return null;
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Everything read until the server closed the connection or the time ran out. */
    public record Transcript(List<Response> responses, boolean closed, String error, long millis) {
        public List<Integer> statuses() {
            return responses.stream().map(Response::status).toList();
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final byte[] buf = new byte[8192];
    private int pos;
    private int lim;

    public RawHttp(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
    }

    public Socket socket() {
        return socket;
    }

    public RawHttp send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return this;
    }

    public RawHttp send(String ascii) throws IOException {
        return send(ascii.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Sends and says it will send no more (half-close), as a client whose request is complete may. */
    public RawHttp sendAndHalfClose(byte[] bytes) throws IOException {
        send(bytes);
        socket.shutdownOutput();
        return this;
    }

    /** Reads one response; null when the server closed before one began. */
    public Response read(long timeoutMillis) throws IOException {
        socket.setSoTimeout((int) timeoutMillis);
        String statusLine = line();
        if (statusLine == null) {
            return null;
        }
        while (statusLine.startsWith("HTTP/1.1 1") && statusLine.length() > 9) { // interim 1xx: skip its head
            while (!requireLine().isEmpty()) {
                // its header fields
            }
            statusLine = requireLine();
        }
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not a status line: " + statusLine);
        }
        int status = Integer.parseInt(parts[1]);
        List<String> headers = new ArrayList<>();
        String h;
        while (!(h = requireLine()).isEmpty()) {
            headers.add(h);
        }
        Response head = new Response(statusLine, status, headers, new byte[0]);
        String te = head.header("Transfer-Encoding");
        String cl = head.header("Content-Length");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            while (true) {
                int size = Integer.parseInt(requireLine().split(";")[0].strip(), 16);
                if (size == 0) {
                    while (!requireLine().isEmpty()) {
                        // trailer fields
                    }
                    break;
                }
                body.write(bytes(size));
                if (!requireLine().isEmpty()) {
                    throw new IOException("chunk not followed by CRLF");
                }
            }
        } else if (cl != null) {
            body.write(bytes(Integer.parseInt(cl)));
        } else {
            int b;
            while ((b = next()) >= 0) { // delimited by the close
                body.write(b);
            }
        }
        return new Response(statusLine, status, headers, body.toByteArray());
    }

    /** Reads responses until the server closes the connection or {@code timeoutMillis} pass. */
    public Transcript readUntilClosed(long timeoutMillis) {
        long t0 = System.nanoTime();
        long end = t0 + timeoutMillis * 1_000_000;
        List<Response> out = new ArrayList<>();
        try {
            while (true) {
                long left = (end - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return new Transcript(out, false, "timed out", (System.nanoTime() - t0) / 1_000_000);
                }
                Response r = read(left);
                if (r == null) {
                    return new Transcript(out, true, null, (System.nanoTime() - t0) / 1_000_000);
                }
                out.add(r);
            }
        } catch (SocketTimeoutException e) {
            return new Transcript(out, false, "timed out", (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException e) {
            // a reset also closes the connection; what was parsed before it stands
            boolean reset = e.getMessage() != null && e.getMessage().contains("reset");
            return new Transcript(
                    out,
                    reset || e instanceof java.io.EOFException,
                    e.toString(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    private int next() throws IOException {
        if (pos == lim) {
            lim = in.read(buf);
            pos = 0;
            if (lim <= 0) {
                lim = 0;
                return -1;
            }
        }
        return buf[pos++] & 0xff;
    }

    private byte[] bytes(int n) throws IOException {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            int b = next();
            if (b < 0) {
                throw new java.io.EOFException("body cut short");
            }
            out[i] = (byte) b;
        }
        return out;
    }

    private String requireLine() throws IOException {
        String l = line();
        if (l == null) {
            throw new java.io.EOFException("the connection closed mid-response");
        }
        return l;
    }

    /** A CRLF-terminated line; null at a clean end of stream before any byte. */
    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = next()) >= 0) {
            if (b == '\n') {
                int n = sb.length();
                if (n == 0 || sb.charAt(n - 1) != '\r') {
                    throw new IOException("a line not ended by CRLF: " + sb);
                }
                return sb.substring(0, n - 1);
            }
            sb.append((char) b);
        }
        if (sb.isEmpty()) {
            return null;
        }
        throw new java.io.EOFException("the connection closed mid-line");
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
