package dev.tandem.orchestrator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.orchestrator.testing.RawHttp;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The server's own duties, with handlers written for each case: what no well-behaved handler shows. */
class HttpServerTest {

    private static final ErrorRenderer ERRORS =
            (status, code, message) -> ("{\"error\":{\"message\":\"" + message + "\",\"code\":\"" + code + "\"}}")
                    .getBytes(StandardCharsets.UTF_8);

    private static HttpLimits limits(int maxConnections) {
        return new HttpLimits(1 << 20, 8192, Duration.ofSeconds(5), Duration.ofSeconds(2), maxConnections);
    }

    private static final String GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    @Test
    void aWriteBlockedOnAClientThatStoppedReadingIsCutOffAfterTheIdleTimeout() throws Exception {
        CompletableFuture<Throwable> writerEnded = new CompletableFuture<>();
        HttpHandler flood = (req, res) -> {
            OutputStream out = res.stream(200, "application/octet-stream");
            byte[] block = new byte[1 << 16];
            try {
                while (true) {
                    out.write(block);
                    out.flush();
                }
            } catch (Exception e) {
                writerEnded.complete(e);
                throw e;
            }
        };
        try (HttpServer server = HttpServer.start("127.0.0.1", 0, limits(16), flood, ERRORS);
                RawHttp client = new RawHttp(server.port())) {
            client.socket().setReceiveBufferSize(4096);
            client.send(GET); // and never read the answer
            Throwable ended = writerEnded.get(20, TimeUnit.SECONDS);
            assertThat(ended).isInstanceOf(java.io.IOException.class);
            assertThat(server.stats().stalledWrites()).isEqualTo(1);
        }
    }

    @Test
    void aDrainLetsTheResponseInProgressFinishClosesIdleConnectionsAndTakesNoNewOnes() throws Exception {
        java.util.concurrent.CountDownLatch streaming = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        HttpHandler slow = (req, res) -> {
            if (req.path().equals("/slow")) {
                OutputStream out = res.stream(200, "text/plain");
                out.write("first ".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                streaming.countDown();
                release.await();
                out.write("last".getBytes(StandardCharsets.US_ASCII));
            } else {
                res.send(200, "text/plain", "ok".getBytes(StandardCharsets.US_ASCII));
            }
        };
        HttpServer server = HttpServer.start("127.0.0.1", 0, limits(16), slow, ERRORS);
        try (RawHttp busy = new RawHttp(server.port());
                RawHttp idle = new RawHttp(server.port())) {
            idle.send(GET);
            assertThat(idle.read(5000).status()).isEqualTo(200); // kept alive, now waiting for a request
            busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(streaming.await(5, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.drain(Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            RawHttp.Transcript idleEnd = idle.readUntilClosed(5000);
            assertThat(idleEnd.closed()).as("the idle connection is closed").isTrue();
            assertThat(idleEnd.responses()).isEmpty();
            assertThatRefused(server.port());
            assertThat(drained).isNotDone();
            release.countDown();
            RawHttp.Transcript t = busy.readUntilClosed(5000);
            assertThat(t.statuses()).containsExactly(200);
            assertThat(t.responses().getFirst().text()).isEqualTo("first last");
            // its head went out before the drain, so the close comes after the response, not in a header
            assertThat(t.closed()).isTrue();
            assertThat(drained.get(5, TimeUnit.SECONDS))
                    .as("every request finished")
                    .isTrue();
        } finally {
            server.close();
        }
    }

    private static void assertThatRefused(int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(2000);
            s.getOutputStream().write(GET.getBytes(StandardCharsets.US_ASCII));
            assertThat(s.getInputStream().read())
                    .as("no answer on a new connection")
                    .isEqualTo(-1);
        } catch (java.io.IOException refused) {
            // refused or reset: no new connection is taken
        }
    }

    @Test
    void connectionsBeyondTheLimitGet503AndAClose() throws Exception {
        HttpHandler ok = (req, res) -> res.send(200, "text/plain", "ok".getBytes(StandardCharsets.US_ASCII));
        try (HttpServer server = HttpServer.start("127.0.0.1", 0, limits(1), ok, ERRORS);
                RawHttp first = new RawHttp(server.port())) {
            first.send(GET);
            assertThat(first.read(5000).status()).isEqualTo(200); // the one allowed connection, kept alive
            try (RawHttp second = new RawHttp(server.port())) {
                RawHttp.Transcript t = second.readUntilClosed(5000);
                assertThat(t.statuses()).containsExactly(503);
                assertThat(t.responses().getFirst().text()).contains("\"error\"");
                assertThat(t.closed()).isTrue();
            }
        }
    }

    @Test
    void aHandlerThatThrowsBeforeAnsweringGetsA500ErrorBodyAndAClose() throws Exception {
        HttpHandler broken = (req, res) -> {
            throw new IllegalStateException("a bug");
        };
        try (HttpServer server = HttpServer.start("127.0.0.1", 0, limits(16), broken, ERRORS);
                RawHttp c = new RawHttp(server.port())) {
            c.send(GET + GET);
            RawHttp.Transcript t = c.readUntilClosed(5000);
            assertThat(t.statuses()).containsExactly(500);
            assertThat(t.responses().getFirst().text()).contains("\"error\"").doesNotContain("a bug");
            assertThat(t.closed()).isTrue();
            assertThat(server.stats().handlerFailures()).isEqualTo(1);
        }
    }

    @Test
    void aHandlerThatSendsNothingStillAnswers() throws Exception {
        HttpHandler silent = (req, res) -> {};
        try (HttpServer server = HttpServer.start("127.0.0.1", 0, limits(16), silent, ERRORS);
                RawHttp c = new RawHttp(server.port())) {
            c.send(GET);
            assertThat(c.read(5000).status()).isEqualTo(500);
        }
    }

    @Test
    void aStreamTheHandlerLeftOpenIsEndedAndTheConnectionReused() throws Exception {
        HttpHandler partial = (req, res) -> {
            OutputStream out = res.stream(200, "text/plain");
            out.write("part".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        };
        try (HttpServer server = HttpServer.start("127.0.0.1", 0, limits(16), partial, ERRORS);
                RawHttp c = new RawHttp(server.port())) {
            c.send(GET);
            assertThat(c.read(5000).text()).isEqualTo("part");
            c.send(GET);
            assertThat(c.read(5000).text()).isEqualTo("part");
        }
    }

    @Test
    void headerValuesCannotSplitAResponse() throws Exception {
        HttpHandler splitter = (req, res) -> {
            try {
                res.header("X-Echo", "a\r\nSet-Cookie: evil=1");
                res.send(200, "text/plain", "unreachable".getBytes(StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException refused) {
                res.send(400, "text/plain", "refused".getBytes(StandardCharsets.US_ASCII));
            }
        };
        try (HttpServer server = HttpServer.start("127.0.0.1", 0, limits(16), splitter, ERRORS);
                RawHttp c = new RawHttp(server.port())) {
            c.send(GET);
            RawHttp.Response r = c.read(5000);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.header("Set-Cookie")).isNull();
        }
    }
}
