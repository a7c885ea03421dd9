package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.http.HttpLimits;
import dev.tandem.orchestrator.testing.HostileMutations;
import dev.tandem.orchestrator.testing.RawHttp;
import dev.tandem.orchestrator.testing.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
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
        return HostileMutations.of(base);
    }
}
