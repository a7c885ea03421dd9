package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.http.HttpLimits;
import dev.tandem.orchestrator.testing.RawHttp;
import dev.tandem.orchestrator.testing.TestCluster;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Malformed requests by the thousand, generated from valid ones by the mutations attackers and broken clients
 * make (framing conflicts, bad chunk sizes, control bytes, truncation, oversized parts, odd versions, broken JSON),
 * sent over raw sockets to a real frontend. Whatever arrives, every answer is a 2xx, a 4xx with an OpenAI error
 * object, or a 503 by design; never another 5xx, never a hang, and the server keeps serving.
 *
 * <p>Tries: jqwik's default of this module ({@code jqwik.tries.default} in junit-platform.properties) in CI; a
 * longer run passes {@code -Djqwik.tries.default=100000} (docs/ARCHITECTURE.md, "The HTTP edge").
 */
class HostileRequestPropertyTest {

    private static TestCluster cluster;
    private static int port;

    @BeforeContainer
    static void start() throws Exception {
        HttpLimits limits = new HttpLimits(4096, 2048, Duration.ofSeconds(2), Duration.ofSeconds(5), 4096);
        cluster = TestCluster.start(new FrontendConfig("127.0.0.1", 0, limits, 256, Duration.ofMinutes(1), 3), 1, 1000);
        port = cluster.cluster().port();
    }

    @AfterContainer
    static void stop() throws Exception {
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(c.read(5000).status()).as("the server still serves").isEqualTo(200);
        } finally {
            cluster.close();
        }
    }

    @Property
    void everyAnswerToAMalformedRequestIsA4xxErrorObjectOrByDesign(@ForAll("hostileRequests") byte[] request)
            throws Exception {
        RawHttp.Transcript t;
        try (RawHttp c = new RawHttp(port)) {
            try {
                c.sendAndHalfClose(request);
            } catch (java.io.IOException refusedMidway) {
                // the server may answer and close before the whole request is sent; read what it said
            }
            t = c.readUntilClosed(10_000);
        }
        String shown = new String(request, 0, Math.min(request.length, 300), StandardCharsets.ISO_8859_1);
        assertThat(t.closed())
                .as("the server closes after answering, request: %s", shown)
                .isTrue();
        for (RawHttp.Response r : t.responses()) {
            int s = r.status();
            assertThat(s < 500 || s == 503).as("status %d for %s", s, shown).isTrue();
            if (s >= 400) {
                JsonNode err = Json.MAPPER.readTree(r.body()).get("error");
                assertThat(err).as("an OpenAI error object for %s", shown).isNotNull();
                assertThat(err.get("message").asText()).isNotBlank();
            }
        }
    }

    private static final String BODY = "{\"model\":\"tandem-demo\",\"prompt\":\"hostile\",\"max_tokens\":2}";

    @Provide
    Arbitrary<byte[]> hostileRequests() {
        Arbitrary<String> base = Arbitraries.of(
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                        + BODY.length() + "\r\n\r\n" + BODY,
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(BODY.length()) + "\r\n" + BODY + "\r\n0\r\n\r\n",
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 70\r\n\r\n"
                        + "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /v1/models HTTP/1.0\r\n\r\n");
        Arbitrary<Mutation> mutation = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, insertByte()),
                net.jqwik.api.Tuple.of(2, truncate()),
                net.jqwik.api.Tuple.of(2, header()),
                net.jqwik.api.Tuple.of(2, replaceVersion()),
                net.jqwik.api.Tuple.of(2, chunkSize()),
                net.jqwik.api.Tuple.of(2, body()),
                net.jqwik.api.Tuple.of(1, oversize()),
                net.jqwik.api.Tuple.of(1, garbage()));
        return Combinators.combine(base, mutation.list().ofMinSize(1).ofMaxSize(3))
                .as((b, ms) -> {
                    byte[] r = b.getBytes(StandardCharsets.ISO_8859_1);
                    for (Mutation m : ms) {
                        r = m.apply(r);
                    }
                    return r;
                });
    }

    private interface Mutation {
        byte[] apply(byte[] request);
    }

    private static byte[] splice(byte[] r, int at, int drop, byte[] insert) {
        at = Math.min(at, r.length);
        drop = Math.min(drop, r.length - at);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(r, 0, at);
        o.writeBytes(insert);
        o.write(r, at + drop, r.length - at - drop);
        return o.toByteArray();
    }

    private static int headEnd(byte[] r) {
        String s = new String(r, StandardCharsets.ISO_8859_1);
        int i = s.indexOf("\r\n\r\n");
        return i < 0 ? r.length : i + 2;
    }

    private static Arbitrary<Mutation> insertByte() {
        Arbitrary<Integer> b = Arbitraries.oneOf(
                Arbitraries.of(0, 13, 10, 9, 32, 58, 0x7f, 0x80, 0xff, 0x16, 34, 123),
                Arbitraries.integers().between(0, 255));
        return Combinators.combine(
                        Arbitraries.doubles().between(0, 1),
                        b,
                        Arbitraries.integers().between(0, 2))
                .as((where, value, drop) ->
                        r -> splice(r, (int) (where * r.length), drop, new byte[] {(byte) (int) value}));
    }

    private static Arbitrary<Mutation> truncate() {
        return Arbitraries.doubles().between(0, 1).map(f -> r -> java.util.Arrays.copyOf(r, (int) (f * r.length)));
    }

    private static Arbitrary<Mutation> header() {
        Arbitrary<String> field = Arbitraries.of(
                "Content-Length: 5",
                "Content-Length: 99999999999999999999",
                "Content-Length: -1",
                "Content-Length: 0x10",
                "Content-Length: 1, 2",
                "Transfer-Encoding: chunked",
                "Transfer-Encoding: gzip",
                "Transfer-Encoding: chunked, identity",
                "Transfer-Encoding : chunked",
                "Transfer-Encoding:\tchunked",
                "Host: y",
                "Expect: 100-continue",
                "Expect: nonsense",
                "Connection: close",
                "Connection: keep-alive, Upgrade",
                "Upgrade: h2c",
                " folded",
                "NoColon",
                ": empty name",
                "X-Utf8: \u00ff\u00fe",
                "X-Long: " + "z".repeat(3000));
        return Combinators.combine(field, Arbitraries.integers().between(0, 3)).as((f, n) -> r -> {
            int at = headEnd(r);
            return splice(r, Math.max(0, at - 2 * (n % 2)), 0, (f + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        });
    }

    private static Arbitrary<Mutation> replaceVersion() {
        return Arbitraries.of("HTTP/2.0", "HTTP/1.2", "HTTP/1", "HTTP/11", "http/1.1", "HTTP/1.1 extra", "", "HTTP/9.9")
                .map(v -> r -> {
                    String s = new String(r, StandardCharsets.ISO_8859_1);
                    return s.replaceFirst("HTTP/1\\.[01]", v).getBytes(StandardCharsets.ISO_8859_1);
                });
    }

    private static Arbitrary<Mutation> chunkSize() {
        Arbitrary<String> size = Arbitraries.oneOf(
                Arbitraries.of(
                        "zz", "-5", "ffffffffffffffff", "0x10", " 3", "3 ", "3;ext", "3;" + "e".repeat(5000), ""),
                Arbitraries.strings()
                        .withChars("0123456789abcdefABCDEF;= -x\t")
                        .ofMinLength(0)
                        .ofMaxLength(20));
        return size.map(sz -> r -> {
            String s = new String(r, StandardCharsets.ISO_8859_1);
            int at = headEnd(r) + 2;
            int eol = s.indexOf("\r\n", at);
            if (at >= s.length() || eol < 0) {
                return (s + sz + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            }
            return (s.substring(0, at) + sz + s.substring(eol)).getBytes(StandardCharsets.ISO_8859_1);
        });
    }

    private static Arbitrary<Mutation> body() {
        Arbitrary<byte[]> replacement = Arbitraries.oneOf(
                Arbitraries.of(
                                "{\"model\":\"tandem-demo\",\"prompt\":\"x\",\"max_tokens\":1000000000}",
                                "{\"model\":\"tandem-demo\",\"prompt\":\"x\"} trailing",
                                "[".repeat(3000),
                                "{\"model\":\"tandem-demo\",\"prompt\":\"x\",\"tools\":[{\"type\":\"function\"}]}",
                                "{\"model\":\"tandem-demo\",\"prompt\":\"\\ud800\"}",
                                "{\"model\":1e999}",
                                "null",
                                "")
                        .map(s -> s.getBytes(StandardCharsets.UTF_8)),
                Arbitraries.of(
                        new byte[] {'{', '"', (byte) 0xc3, (byte) 0x28, '"', '}'},
                        new byte[] {(byte) 0xff, (byte) 0xfe, 0, 0}));
        return replacement.map(b -> r -> {
            int at = headEnd(r) + 2;
            byte[] head = java.util.Arrays.copyOf(r, Math.min(at, r.length));
            String h = new String(head, StandardCharsets.ISO_8859_1)
                    .replaceFirst("Content-Length: \\d+", "Content-Length: " + b.length);
            byte[] hb = h.getBytes(StandardCharsets.ISO_8859_1);
            byte[] out = java.util.Arrays.copyOf(hb, hb.length + b.length);
            System.arraycopy(b, 0, out, hb.length, b.length);
            return out;
        });
    }

    private static Arbitrary<Mutation> oversize() {
        return Arbitraries.of("target", "headers", "body").map(kind -> r -> {
            String s = new String(r, StandardCharsets.ISO_8859_1);
            String out = switch (kind) {
                case "target" -> s.replaceFirst(" /v1/", " /v1/" + "a".repeat(4000));
                case "headers" -> s.replaceFirst("\r\n", "\r\n" + "X-A: 1\r\n".repeat(200));
                default -> s + "x".repeat(5000);
            };
            return out.getBytes(StandardCharsets.ISO_8859_1);
        });
    }

    private static Arbitrary<Mutation> garbage() {
        return Arbitraries.bytes()
                .array(byte[].class)
                .ofMinSize(1)
                .ofMaxSize(200)
                .map(g -> r -> g);
    }
}
