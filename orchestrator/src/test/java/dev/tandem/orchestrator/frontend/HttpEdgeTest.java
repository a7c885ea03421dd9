package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.http.HttpLimits;
import dev.tandem.orchestrator.testing.RawHttp;
import dev.tandem.orchestrator.testing.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The HTTP edge on the wire, through raw sockets: what an attacker or a careless client sends, byte for byte, and
 * what the server must answer. Each case is a defect once found on the server this edge replaced.
 */
class HttpEdgeTest {

    private static final int MAX_BODY = 1000;
    private static TestCluster cluster;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        HttpLimits limits = new HttpLimits(MAX_BODY, 4096, Duration.ofSeconds(2), Duration.ofSeconds(3), 1000);
        cluster = TestCluster.start(new FrontendConfig("127.0.0.1", 0, limits, 64, Duration.ofMinutes(1), 3), 1, 100);
        port = cluster.cluster().port();
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static String post(String body, String extraHeaders) {
        return "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extraHeaders
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    static String completion(String prompt, int maxTokens) {
        return "{\"model\":\"tandem-demo\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + "}";
    }

    private static RawHttp.Transcript exchange(String request, long millis) throws Exception {
        try (RawHttp c = new RawHttp(port)) {
            c.send(request);
            return c.readUntilClosed(millis);
        }
    }

    /** Every error response carries an OpenAI error object with a message. */
    private static void assertOpenAiErrors(RawHttp.Transcript t) throws Exception {
        for (RawHttp.Response r : t.responses()) {
            if (r.status() >= 400) {
                JsonNode e = Json.MAPPER.readTree(r.body());
                assertThat(e.at("/error/message").asText()).as(r.statusLine()).isNotBlank();
                assertThat(e.at("/error/type").asText()).isNotBlank();
            }
        }
    }

    @Test
    void aRejectedBodyIsNeverServedAsTheNextRequest() throws Exception {
        String smuggled = post(completion("SMUGGLED", 2), "");
        String padding = "a".repeat(1100 - smuggled.length() - 40);
        String body = "{\"model\":\"tandem-demo\",\"prompt\":\"" + padding + "\"}" + smuggled;
        RawHttp.Transcript t = exchange(post(body, ""), 8000);
        assertThat(t.statuses()).containsExactly(413);
        assertThat(t.closed()).as(t.error()).isTrue();
        assertThat(t.responses().getFirst().header("Connection")).isEqualToIgnoringCase("close");
        assertOpenAiErrors(t);
    }

    @Test
    void aResponseThatSaysConnectionCloseClosesTheConnection() throws Exception {
        String first = "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        String second = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
        RawHttp.Transcript t = exchange(first + second, 8000);
        assertThat(t.statuses()).containsExactly(200);
        assertThat(t.closed()).isTrue();
        assertThat(t.responses().getFirst().header("Connection")).isEqualToIgnoringCase("close");
    }

    @ParameterizedTest(name = "chunk size line \"{0}\"")
    @ValueSource(
            strings = {
                "zz\r\n{}\r\n0\r\n\r\n",
                "ffffffffffffffff\r\n{}\r\n0\r\n\r\n",
                "-5\r\n{}\r\n0\r\n\r\n",
                "2\r\n{}XX0\r\n\r\n",
                "0x2\r\n{}\r\n0\r\n\r\n",
                "\r\n{}\r\n0\r\n\r\n",
                "2 z\r\n{}\r\n0\r\n\r\n"
            })
    void malformedChunkedBodiesAreAnsweredWith4xxAndClosed(String chunks) throws Exception {
        String head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        RawHttp.Transcript t = exchange(head + chunks, 8000);
        // Answered at once from the framing, not by the read timeout (that would be a 408).
        assertThat(t.statuses()).hasSize(1).allMatch(s -> s == 400 || s == 413);
        assertThat(t.closed()).as(t.error()).isTrue();
        assertOpenAiErrors(t);
    }

    @Test
    void aChunkedBodyWithATrailerFieldIsServed() throws Exception {
        String body = completion("trailer", 2);
        String req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + Integer.toHexString(body.length()) + ";ext=1\r\n" + body + "\r\n0\r\nX-Checksum: 1\r\n\r\n";
        RawHttp.Transcript t = exchange(req, 8000);
        assertThat(t.statuses()).containsExactly(200);
        assertThat(Json.MAPPER
                        .readTree(t.responses().getFirst().body())
                        .at("/object")
                        .asText())
                .isEqualTo("text_completion");
    }

    @Test
    void http10RequestsAreServedAsHttp10() throws Exception {
        RawHttp.Transcript models = exchange("GET /v1/models HTTP/1.0\r\n\r\n", 8000);
        assertThat(models.statuses()).containsExactly(200);
        assertThat(models.closed()).isTrue();
        assertThat(models.responses().getFirst().text()).contains("\"data\"");

        String body = "{\"model\":\"tandem-demo\",\"prompt\":\"old\",\"max_tokens\":3,\"stream\":true}";
        RawHttp.Transcript stream = exchange(
                "POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                        + "\r\n\r\n" + body,
                8000);
        assertThat(stream.statuses()).containsExactly(200);
        RawHttp.Response r = stream.responses().getFirst();
        assertThat(r.header("Transfer-Encoding"))
                .as("HTTP/1.0 knows no chunked coding")
                .isNull();
        assertThat(r.text()).endsWith("data: [DONE]\n\n");
    }

    @Test
    void tlsHandshakeBytesGetA400AndAClose() throws Exception {
        byte[] hello = new byte[5 + 6 + 32 + 9];
        byte[] start = {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, 0x00, 0x00, (byte) 0xa1, 0x03, 0x03};
        System.arraycopy(start, 0, hello, 0, start.length);
        try (RawHttp c = new RawHttp(port)) {
            c.send(hello);
            RawHttp.Transcript t = c.readUntilClosed(8000);
            assertThat(t.statuses()).containsExactly(400);
            assertThat(t.closed()).isTrue();
            assertOpenAiErrors(t);
        }
    }

    @Test
    void aSlowSenderIsCutOffWith408AtTheReadTimeout() throws Exception {
        String req = post("x".repeat(900), "");
        RawHttp.Transcript t = exchange(req.substring(0, req.length() - 890), 10_000);
        assertThat(t.statuses()).containsExactly(408);
        assertThat(t.closed()).isTrue();
        assertOpenAiErrors(t);
    }

    @Test
    void aSenderThatTricklesBytesIsCutOffAtTheReadTimeoutToo() throws Exception {
        try (RawHttp c = new RawHttp(port)) {
            long t0 = System.nanoTime();
            String req = post("x".repeat(900), "");
            int i = 0;
            // One byte every 100 ms would take 90 s; the read timeout counts from the first byte, not the last.
            while (i < req.length()
                    && System.nanoTime() - t0 < Duration.ofSeconds(3).toNanos()) {
                try {
                    c.send(req.substring(i, i + 1));
                } catch (java.io.IOException closed) {
                    break;
                }
                i++;
                Thread.sleep(100);
            }
            RawHttp.Transcript t = c.readUntilClosed(5000);
            assertThat(i).as("bytes sent before the server hung up").isLessThan(req.length());
            assertThat(t.statuses()).containsExactly(408);
        }
    }

    @Test
    void aKeptAliveConnectionWithNoRequestIsClosedAtTheIdleTimeout() throws Exception {
        RawHttp.Transcript t = exchange("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 10_000);
        assertThat(t.statuses()).containsExactly(200);
        assertThat(t.closed()).as("closed by the server after the idle timeout").isTrue();
    }

    @Test
    void oversizedHeadersGet431() throws Exception {
        RawHttp.Transcript t =
                exchange("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(5000) + "\r\n\r\n", 8000);
        assertThat(t.statuses()).containsExactly(431);
        assertThat(t.closed()).isTrue();
        assertOpenAiErrors(t);
    }

    static Stream<Arguments> ambiguousFraming() {
        String body = completion("x", 2);
        int n = body.length();
        String json = "Content-Type: application/json\r\n";
        return Stream.of(
                Arguments.of(
                        "duplicate Content-Length",
                        "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + json + "Content-Length: " + n
                                + "\r\nContent-Length: " + n + "\r\n\r\n" + body),
                Arguments.of(
                        "Content-Length with Transfer-Encoding",
                        "POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                                + json + "Content-Length: " + n + "\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + Integer.toHexString(n) + "\r\n" + body + "\r\n0\r\n\r\n"),
                Arguments.of(
                        "unknown transfer coding",
                        "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + json
                                + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of(
                        "Content-Length with a sign",
                        "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + json + "Content-Length: +" + n + "\r\n\r\n"
                                + body),
                Arguments.of("whitespace before the colon", "GET /v1/models HTTP/1.1\r\nHost : x\r\n\r\n"),
                Arguments.of("folded header line", "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n"),
                Arguments.of("bare CR", "GET /v1/models HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n"),
                Arguments.of("NUL in a header value", "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"),
                Arguments.of("no Host in HTTP/1.1", "GET /v1/models HTTP/1.1\r\n\r\n"),
                Arguments.of("two Hosts", "GET /v1/models HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
                Arguments.of("HTTP/2.0 in the request line", "GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n"),
                Arguments.of("garbage version", "GET /v1/models HTTP/1.x\r\nHost: x\r\n\r\n"),
                Arguments.of("no version", "GET /v1/models\r\nHost: x\r\n\r\n"),
                Arguments.of("target without a slash", "GET v1/models HTTP/1.1\r\nHost: x\r\n\r\n"),
                Arguments.of(
                        "unknown expectation",
                        "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + json + "Expect: 200-ok\r\nContent-Length: " + n
                                + "\r\n\r\n" + body));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ambiguousFraming")
    void ambiguousOrMalformedFramingGetsA4xxAndAClose(String name, String request) throws Exception {
        RawHttp.Transcript t = exchange(request, 8000);
        assertThat(t.statuses()).hasSize(1).allMatch(s -> s >= 400 && s < 500);
        assertThat(t.closed()).isTrue();
        assertOpenAiErrors(t);
    }

    @Test
    void expectContinueGetsA100BeforeTheBodyIsSent() throws Exception {
        String body = completion("continue", 2);
        try (RawHttp c = new RawHttp(port)) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Expect: 100-continue\r\nContent-Length: " + body.length() + "\r\n\r\n");
            c.socket().setSoTimeout(5000);
            byte[] interim = new byte[25];
            int n = c.socket().getInputStream().readNBytes(interim, 0, interim.length);
            assertThat(new String(interim, 0, n, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
            c.send(body);
            assertThat(c.read(8000).status()).isEqualTo(200);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws Exception {
        String req = post(completion("one", 2), "") + "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
                + post(completion("three", 2), "Connection: close\r\n");
        RawHttp.Transcript t = exchange(req, 10_000);
        assertThat(t.statuses()).containsExactly(200, 200, 200);
        assertThat(t.responses().get(1).text()).contains("\"object\":\"list\"");
        assertThat(t.closed()).isTrue();
    }

    @Test
    void aStreamedCompletionIsChunkedAndEndsWithDone() throws Exception {
        String body = "{\"model\":\"tandem-demo\",\"prompt\":\"hi\",\"max_tokens\":4,\"stream\":true}";
        try (RawHttp c = new RawHttp(port)) {
            c.send(post(body, ""));
            RawHttp.Response r = c.read(8000);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
            assertThat(r.header("Content-Type")).startsWith("text/event-stream");
            assertThat(r.text()).startsWith("data: {").endsWith("data: [DONE]\n\n");
            // the connection stays usable
            c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(c.read(8000).status()).isEqualTo(200);
        }
    }

    /**
     * With Nagle's algorithm on, a small event written after the head waits for the client's delayed ACK: ~40 ms
     * on every streamed request over a reused connection, which is how every OpenAI SDK connects. The model here
     * takes well under a millisecond, so the median must be far below that stall.
     */
    @Test
    void streamingOverAKeptAliveConnectionDoesNotWaitForDelayedAcks() throws Exception {
        List<Double> ms = new ArrayList<>();
        try (RawHttp c = new RawHttp(port)) {
            c.socket().setSoTimeout(10_000);
            var in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(c.socket().getInputStream(), StandardCharsets.ISO_8859_1));
            for (int i = 0; i < 21; i++) {
                String body = "{\"model\":\"tandem-demo\",\"prompt\":\"hello " + i
                        + "\",\"max_tokens\":4,\"ignore_eos\":true,\"stream\":true}";
                long t0 = System.nanoTime();
                c.send(post(body, ""));
                long first = 0;
                String line;
                while ((line = in.readLine()) != null && !line.equals("0")) {
                    if (first == 0 && line.startsWith("data: {")) {
                        first = System.nanoTime();
                    }
                }
                assertThat(in.readLine()).isEmpty(); // the last chunk's CRLF
                if (i > 0) {
                    ms.add((first - t0) / 1e6);
                }
            }
        }
        ms.sort(Double::compare);
        assertThat(ms.get(ms.size() / 2))
                .as("median time to the first event, ms: " + ms)
                .isLessThan(25.0);
    }

    @Test
    void invalidUtf8InTheBodyIsA400() throws Exception {
        byte[] body = {'{', '"', 'm', 'o', 'd', 'e', 'l', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}'};
        try (RawHttp c = new RawHttp(port)) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n");
            c.send(body);
            RawHttp.Response r = c.read(8000);
            assertThat(r.status()).isEqualTo(400);
            assertThat(Json.MAPPER.readTree(r.body()).at("/error/message").asText())
                    .contains("JSON");
        }
    }

    /** A client leaving mid-stream is normal: it must not cost a log line above debug, let alone a stack trace. */
    @Test
    void droppedStreamsDoNotFloodTheLog() throws Exception {
        List<LogRecord> loud = new java.util.concurrent.CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue() || r.getThrown() != null) {
                    loud.add(r);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try {
            for (int i = 0; i < 20; i++) {
                String body = "{\"model\":\"tandem-demo\",\"prompt\":\"drop " + i
                        + "\",\"max_tokens\":400,\"ignore_eos\":true,\"stream\":true}";
                try (RawHttp c = new RawHttp(port)) {
                    c.send(post(body, ""));
                    c.socket().setSoTimeout(5000);
                    assertThat(c.socket().getInputStream().read(new byte[200])).isPositive();
                }
                // a client that leaves mid-head, too
                try (RawHttp c = new RawHttp(port)) {
                    c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Le");
                }
            }
            Thread.sleep(1000); // the engine notices the aborts
        } finally {
            root.removeHandler(capture);
        }
        assertThat(loud).extracting(LogRecord::getMessage).isEmpty();
    }
}
