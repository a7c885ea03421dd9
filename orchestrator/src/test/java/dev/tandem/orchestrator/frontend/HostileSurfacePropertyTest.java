package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.http.HttpLimits;
import dev.tandem.orchestrator.testing.HostileMutations;
import dev.tandem.orchestrator.testing.RawHttp;
import dev.tandem.orchestrator.testing.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The hostile-request suite of the HTTP edge ({@link HostileRequestPropertyTest}) against the production surface:
 * a frontend with API keys ({@code --protect-status} too) and a rate limit, on every endpoint it serves, with
 * every sort of Authorization header. Besides "a 4xx error object or a 503, never another 5xx, never a hang", it
 * holds the security property: a guarded endpoint answers 2xx only to a request that carries a valid key.
 */
class HostileSurfacePropertyTest {

    private static final String KEY = "sk-hostile-good";
    private static final List<String> OPEN = List.of("/live", "/ready", "/health");

    /**
     * A header line that carries a valid key, as a lenient HTTP/1.1 parser reads it: a bare LF may end the line
     * before it (RFC 9112 lets a server accept one), and blanks around the value are not part of it.
     */
    private static final java.util.regex.Pattern VALID_KEY_LINE = java.util.regex.Pattern.compile(
            "\n(?i:authorization):[ \t]*Bearer[ \t]+(" + KEY + "|sk-hostile-other)[ \t]*\r?\n");

    private static TestCluster cluster;
    private static int port;
    private static Path keysFile;

    @BeforeContainer
    static void start() throws Exception {
        keysFile = Files.createTempFile("tandem-keys", ".txt");
        Files.writeString(keysFile, KEY + "\nsk-hostile-other\n");
        HttpLimits limits = new HttpLimits(4096, 2048, Duration.ofSeconds(2), Duration.ofSeconds(5), 4096);
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, limits, 256, Duration.ofMinutes(1), 3)
                .withApiKeys(ApiKeys.load(keysFile, true))
                .withRateLimit(new RateLimiter(200));
        cluster = TestCluster.start(fc, 1, 1000);
        port = cluster.cluster().port();
    }

    @AfterContainer
    static void stop() throws Exception {
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY + "\r\n\r\n");
            assertThat(c.read(5000).status()).as("the server still serves").isEqualTo(200);
        } finally {
            cluster.close();
            Files.deleteIfExists(keysFile);
        }
    }

    private static RawHttp.Transcript exchange(byte[] request) throws Exception {
        try (RawHttp c = new RawHttp(port)) {
            try {
                c.sendAndHalfClose(request);
            } catch (java.io.IOException refusedMidway) {
                // the server may answer and close before the whole request is sent; read what it said
            }
            return c.readUntilClosed(10_000);
        }
    }

    /** The request's path when its request line still names one. */
    private static String path(byte[] request) {
        String s = new String(request, StandardCharsets.ISO_8859_1);
        int sp = s.indexOf(' ');
        int end = sp < 0 ? -1 : s.indexOf(' ', sp + 1);
        if (end < 0) {
            return "";
        }
        String target = s.substring(sp + 1, end);
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    @Property(tries = 1500)
    void malformedRequestsGetErrorObjectsAndNoGuardedAnswerWithoutAValidKey(
            @ForAll("hostileSurfaceRequests") byte[] request) throws Exception {
        RawHttp.Transcript t = exchange(request);
        check(request, t, false);
    }

    @Property(tries = 300)
    void wellFormedRequestsWithEveryKindOfAuthorizationAreAnsweredByTheRules(@ForAll("surfaceRequests") String request)
            throws Exception {
        byte[] bytes = request.getBytes(StandardCharsets.ISO_8859_1);
        RawHttp.Transcript t = exchange(bytes);
        check(bytes, t, true);
    }

    private static void check(byte[] request, RawHttp.Transcript t, boolean wellFormed) throws Exception {
        String shown = new String(request, 0, Math.min(request.length, 300), StandardCharsets.ISO_8859_1);
        assertThat(t.closed())
                .as("the server closes after answering, request: %s", shown)
                .isTrue();
        String raw = new String(request, StandardCharsets.ISO_8859_1);
        boolean validKey = VALID_KEY_LINE.matcher(raw).find();
        String path = path(request);
        for (RawHttp.Response r : t.responses()) {
            int s = r.status();
            assertThat(s < 500 || s == 503).as("status %d for %s", s, shown).isTrue();
            if (s >= 200 && s < 300 && !OPEN.contains(path)) {
                assertThat(validKey)
                        .as("a guarded answer (%d) without a valid key: %s", s, shown)
                        .isTrue();
            }
            if (s >= 400) {
                JsonNode err = Json.MAPPER.readTree(r.body()).get("error");
                assertThat(err).as("an OpenAI error object for %s", shown).isNotNull();
                assertThat(err.get("message").asText()).isNotBlank();
                assertThat(r.text()).as("an answer never echoes a key").doesNotContain("sk-hostile");
            }
            if (s == 429) {
                assertThat(r.header("Retry-After")).as("429 says when to retry").isNotNull();
            }
        }
        if (wellFormed) {
            assertThat(t.responses()).as("one answer to %s", shown).hasSize(1);
            int s = t.responses().get(0).status();
            if (OPEN.contains(path)) {
                assertThat(s).as(shown).isEqualTo(200);
            } else if (validKey) {
                assertThat(s).as(shown).isIn(200, 429);
            } else {
                assertThat(s).as(shown).isEqualTo(401);
                assertThat(t.responses().get(0).header("WWW-Authenticate")).isEqualTo("Bearer");
            }
        }
    }

    private static final String COMPLETION = "{\"model\":\"tandem-demo\",\"prompt\":\"hostile\",\"max_tokens\":2}";
    private static final String CHAT =
            "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2}";

    private static Arbitrary<String> authorization() {
        return Arbitraries.of(
                "",
                "Authorization: Bearer " + KEY + "\r\n",
                "Authorization: Bearer sk-hostile-other\r\n",
                "Authorization: Bearer sk-hostile-goo\r\n",
                "Authorization: Bearer " + KEY + "x\r\n",
                "Authorization: bearer " + KEY + "x\r\n",
                "Authorization: Basic c2staG9zdGlsZS1nb29kOg==\r\n",
                "Authorization: Bearer\r\n",
                "Authorization: Bearer \r\n",
                "Authorization: " + KEY + "\r\n",
                "Authorization: Bearer " + "k".repeat(1500) + "\r\n",
                "Authorization: Bearer s\u00ffk\u0080\r\n",
                "Authorization: Bearer wrong\r\nAuthorization: Bearer wrong-too\r\n",
                "X-Api-Key: " + KEY + "\r\n");
    }

    private static Arbitrary<String> request() {
        Arbitrary<String> target = Arbitraries.of(
                "POST /v1/completions",
                "POST /v1/chat/completions",
                "GET /v1/models",
                "GET /metrics",
                "GET /status",
                "GET /status.json",
                "GET /status.json?x=1",
                "GET /live",
                "GET /ready",
                "GET /health",
                "GET /nowhere");
        return Combinators.combine(target, authorization()).as((line, auth) -> {
            String body = line.endsWith("chat/completions") ? CHAT : line.startsWith("POST") ? COMPLETION : "";
            String head = line + " HTTP/1.1\r\nHost: x\r\n" + auth;
            return body.isEmpty()
                    ? head + "\r\n"
                    : head + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
        });
    }

    @Provide
    Arbitrary<String> surfaceRequests() {
        return request().filter(r -> !r.startsWith("GET /nowhere"));
    }

    @Provide
    Arbitrary<byte[]> hostileSurfaceRequests() {
        return HostileMutations.of(request());
    }
}
