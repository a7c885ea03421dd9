package dev.tandem.orchestrator.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads requests off a connection as RFC 9112 frames them, strictly: anything that two parsers could read two ways
 * (a Content-Length given twice, Content-Length beside Transfer-Encoding, a bare CR, whitespace before a colon, a
 * folded line, a chunk size that is not plain hex) is refused, since a request smuggled past one reading is served
 * by the other. A request line must be printable ASCII from its first byte, so bytes of another protocol (a TLS
 * handshake) are refused at once rather than waited on.
 */
final class RequestReader {

    private static final int CHUNK_LINE_LIMIT = 4096;

    private final ConnectionInput in;
    private final HttpLimits limits;
    private int headBudget;

    RequestReader(ConnectionInput in, HttpLimits limits) {
        this.in = in;
        this.limits = limits;
    }

    /**
     * Reads the next request's head; returns null when the client closed the connection between requests. The
     * request's read deadline starts at its first byte.
     */
    RequestHead readHead() throws IOException {
        int first = in.read();
        while (first == '\r' || first == '\n') { // RFC 9112 §2.2: ignore empty lines before a request line
            if (first == '\r' && in.readRequired() != '\n') {
                throw ProtocolException.badRequest("A bare CR is not a line ending");
            }
            first = in.read();
        }
        if (first < 0) {
            return null;
        }
        in.startRequest(limits.readTimeout().toNanos());
        if (first == 0x16) {
            throw ProtocolException.badRequest("This port speaks plain HTTP, not TLS; use an http:// URL");
        }
        headBudget = limits.maxHeaderBytes();
        String requestLine = line(first, true);
        String[] parts = requestLine.split(" ", -1);
        if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw ProtocolException.badRequest("Malformed request line");
        }
        if (!isToken(parts[0])) {
            throw ProtocolException.badRequest("Malformed method");
        }
        int minor = version(parts[2]);
        String target = parts[1];
        String path;
        String query = "";
        if (target.startsWith("http://") || target.startsWith("https://")) {
            int slash = target.indexOf('/', target.indexOf("//") + 2);
            target = slash < 0 ? "/" : target.substring(slash);
        }
        if (target.equals("*") && parts[0].equals("OPTIONS")) {
            path = "*";
        } else if (target.startsWith("/")) {
            int q = target.indexOf('?');
            path = q < 0 ? target : target.substring(0, q);
            query = q < 0 ? "" : target.substring(q + 1);
            int hash = path.indexOf('#');
            if (hash >= 0 || query.indexOf('#') >= 0) {
                throw ProtocolException.badRequest("A request target carries no fragment");
            }
        } else {
            throw ProtocolException.badRequest("Malformed request target");
        }
        Headers headers = fields(limits.maxHeaderBytes());
        return head(parts[0], path, query, minor, headers);
    }

    private static int version(String v) {
        if (v.length() != 8 || !v.startsWith("HTTP/") || v.charAt(6) != '.') {
            throw ProtocolException.badRequest("Malformed HTTP version");
        }
        char major = v.charAt(5);
        char minor = v.charAt(7);
        if (!Character.isDigit(major) || !Character.isDigit(minor)) {
            throw ProtocolException.badRequest("Malformed HTTP version");
        }
        if (major != '1' || minor > '1') {
            // A 4xx, not 505: this port speaks HTTP/1.1 and 1.0, and no hostile request earns a 5xx.
            throw new ProtocolException(
                    400, "http_version_not_supported", "This server speaks HTTP/1.1 and HTTP/1.0 on this port");
        }
        return minor - '0';
    }

    private RequestHead head(String method, String path, String query, int minor, Headers headers) {
        List<String> hosts = headers.all("Host");
        if (hosts.size() > 1 || (minor == 1 && hosts.isEmpty())) {
            throw ProtocolException.badRequest("An HTTP/1.1 request needs exactly one Host header");
        }
        List<String> te = headers.all("Transfer-Encoding");
        List<String> cl = headers.all("Content-Length");
        long length = 0;
        if (!te.isEmpty()) {
            if (!cl.isEmpty()) {
                throw ProtocolException.badRequest("Content-Length and Transfer-Encoding together are ambiguous");
            }
            if (minor == 0) {
                throw ProtocolException.badRequest("Transfer-Encoding is not defined for HTTP/1.0");
            }
            String codings = String.join(",", te).strip().toLowerCase(Locale.ROOT);
            if (!codings.equals("chunked")) {
                throw ProtocolException.badRequest("Only the chunked transfer coding is supported");
            }
            length = -1;
        } else if (!cl.isEmpty()) {
            if (cl.size() > 1) {
                throw ProtocolException.badRequest("Content-Length was given more than once");
            }
            length = contentLength(cl.getFirst());
        }
        boolean expect = false;
        if (minor == 1) {
            for (String e : headers.all("Expect")) {
                if (!e.equalsIgnoreCase("100-continue")) {
                    throw new ProtocolException(417, "expectation_failed", "Only 'Expect: 100-continue' is supported");
                }
                expect = true;
            }
        }
        boolean keepAlive = minor == 1 && !headers.hasToken("Connection", "close");
        return new RequestHead(method, path, query, minor, headers, length, keepAlive, expect);
    }

    private static long contentLength(String v) {
        if (v.isEmpty() || v.length() > 18) {
            throw ProtocolException.badRequest("Malformed Content-Length");
        }
        for (int i = 0; i < v.length(); i++) {
            if (v.charAt(i) < '0' || v.charAt(i) > '9') {
                throw ProtocolException.badRequest("Malformed Content-Length");
            }
        }
        return Long.parseLong(v);
    }

    /**
     * Reads the body the head declares, at most {@link HttpLimits#maxBodyBytes()}; {@code sendContinue} runs when
     * the client waits for a 100 Continue and the body is acceptable so far.
     */
    byte[] readBody(RequestHead head, IoAction sendContinue) throws IOException {
        long max = limits.maxBodyBytes();
        if (!head.chunked()) {
            if (head.contentLength() > max) {
                throw tooLarge(max);
            }
            if (head.contentLength() == 0) {
                return new byte[0];
            }
            if (head.expectContinue()) {
                sendContinue.run();
            }
            byte[] body = new byte[(int) head.contentLength()];
            in.readFully(body, 0, body.length);
            return body;
        }
        if (head.expectContinue()) {
            sendContinue.run();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        while (true) {
            long size = chunkSize();
            if (size == 0) {
                fields(headBudget); // the trailer: read and validated, then dropped
                return out.toByteArray();
            }
            if (size > max - out.size()) {
                throw tooLarge(max);
            }
            long left = size;
            while (left > 0) {
                int k = (int) Math.min(left, chunk.length);
                in.readFully(chunk, 0, k);
                out.write(chunk, 0, k);
                left -= k;
            }
            int cr = in.readRequired();
            if (cr == '\r') {
                cr = in.readRequired();
            }
            if (cr != '\n') {
                throw ProtocolException.badRequest("Chunk data is not followed by CRLF");
            }
        }
    }

    /** An action that may fail with an IOException. */
    interface IoAction {
        void run() throws IOException;
    }

    private long chunkSize() throws IOException {
        int saved = headBudget;
        headBudget = CHUNK_LINE_LIMIT;
        String line = line(in.readRequired(), false);
        headBudget = saved;
        int end = 0;
        while (end < line.length() && Character.digit(line.charAt(end), 16) >= 0) {
            end++;
        }
        if (end == 0) {
            throw ProtocolException.badRequest("Malformed chunk size");
        }
        String rest = line.substring(end).stripLeading();
        if (!rest.isEmpty() && rest.charAt(0) != ';') {
            throw ProtocolException.badRequest("Malformed chunk size");
        }
        String digits = line.substring(0, end).replaceFirst("^0+(?=.)", "");
        if (digits.length() > 15) {
            throw tooLarge(limits.maxBodyBytes());
        }
        return Long.parseLong(digits, 16);
    }

    private static ProtocolException tooLarge(long max) {
        return new ProtocolException(
                413, "request_too_large", "The request body exceeds the limit of " + max + " bytes");
    }

    /** Header fields up to the empty line, within {@code budget} bytes. */
    private Headers fields(int budget) throws IOException {
        headBudget = budget;
        List<Headers.Field> fields = new ArrayList<>();
        while (true) {
            int first = in.readRequired();
            String line = line(first, false);
            if (line.isEmpty()) {
                return new Headers(fields);
            }
            if (first == ' ' || first == '\t') {
                throw ProtocolException.badRequest("Folded header lines are not accepted");
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line.substring(0, colon))) {
                throw ProtocolException.badRequest("Malformed header field");
            }
            if (fields.size() == HttpLimits.MAX_HEADER_FIELDS) {
                throw headerTooLarge();
            }
            fields.add(new Headers.Field(line.substring(0, colon), strip(line.substring(colon + 1))));
        }
    }

    private static String strip(String v) {
        int a = 0;
        int b = v.length();
        while (a < b && (v.charAt(a) == ' ' || v.charAt(a) == '\t')) {
            a++;
        }
        while (b > a && (v.charAt(b - 1) == ' ' || v.charAt(b - 1) == '\t')) {
            b--;
        }
        return v.substring(a, b);
    }

    /**
     * One line (without its CRLF or LF) whose first byte was already read. A request line must be printable ASCII;
     * a field line may also hold HTAB and bytes above 0x7F (obs-text, read as ISO-8859-1), never other controls.
     */
    private String line(int first, boolean requestLine) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        int b = first;
        while (true) {
            if (--headBudget < 0) {
                throw requestLine
                        ? new ProtocolException(414, "uri_too_long", "The request line exceeds the header limit")
                        : headerTooLarge();
            }
            if (b == '\n') {
                return line.toString(StandardCharsets.ISO_8859_1);
            }
            if (b == '\r') {
                if (in.readRequired() != '\n') {
                    throw ProtocolException.badRequest("A bare CR is not a line ending");
                }
                return line.toString(StandardCharsets.ISO_8859_1);
            }
            boolean ok = requestLine ? b >= 0x20 && b < 0x7f : (b >= 0x20 && b != 0x7f) || b == '\t';
            if (!ok) {
                throw ProtocolException.badRequest(
                        requestLine ? "Malformed request line" : "Control character in a header field");
            }
            line.write(b);
            b = in.readRequired();
        }
    }

    private static ProtocolException headerTooLarge() {
        return new ProtocolException(
                431, "request_header_fields_too_large", "The request's header fields exceed the server's limit");
    }

    private static boolean isToken(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
