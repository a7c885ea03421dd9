package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --api-keys-file}: the API needs a key, the health endpoints and (unless protected) metrics do not. */
class ApiKeysTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private ApiKeys keys(boolean protectStatus) throws Exception {
        Path f = dir.resolve("keys");
        Files.writeString(f, "# operators' keys\nsk-tandem-one\n\n  sk-tandem-two  \n");
        return ApiKeys.load(f, protectStatus);
    }

    private static EmbeddedCluster start(ApiKeys keys) throws Exception {
        FrontendConfig fc = new FrontendConfig(
                        "127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2))
                .withApiKeys(keys);
        return EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, 1, "sim", null, "tandem", 16, 1024, 100, Map.of()));
    }

    private static HttpResponse<String> get(EmbeddedCluster c, String path, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + path));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void keysFromTheFileAreAcceptedAndNothingElse() throws Exception {
        ApiKeys k = keys(false);
        assertThat(k.digests()).hasSize(2);
        assertThat(k.accepts("Bearer sk-tandem-one")).isTrue();
        assertThat(k.accepts("bearer sk-tandem-two")).isTrue();
        assertThat(k.accepts("Bearer sk-tandem-on")).isFalse();
        assertThat(k.accepts("Bearer # operators' keys")).isFalse();
        assertThat(k.accepts("Basic sk-tandem-one")).isFalse();
        assertThat(k.accepts(null)).isFalse();
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "\n# nothing\n");
        assertThatThrownBy(() -> ApiKeys.load(empty, false)).hasMessageContaining("no key");
    }

    @Test
    void theApiAnswersWithoutAValidKeyA401ErrorObjectThatDoesNotEchoTheKey() throws Exception {
        try (EmbeddedCluster c = start(keys(false))) {
            for (String auth : new String[] {null, "Bearer sk-wrong-secret", "sk-tandem-one"}) {
                HttpResponse<String> r = get(c, "/v1/models", auth);
                assertThat(r.statusCode()).as("auth %s", auth).isEqualTo(401);
                JsonNode error = new ObjectMapper().readTree(r.body()).get("error");
                assertThat(error.get("message").asText()).isNotBlank();
                assertThat(error.get("code").asText()).isEqualTo("invalid_api_key");
                assertThat(r.body()).doesNotContain("sk-wrong-secret");
            }
            assertThat(get(c, "/v1/models", "Bearer sk-tandem-two").statusCode())
                    .isEqualTo(200);
            for (String open : new String[] {"/health", "/live", "/ready", "/metrics"}) {
                assertThat(get(c, open, null).statusCode()).as(open).isEqualTo(200);
            }
        }
    }

    @Test
    void protectingTheStatusPutsMetricsBehindTheKeysToo() throws Exception {
        try (EmbeddedCluster c = start(keys(true))) {
            assertThat(get(c, "/metrics", null).statusCode()).isEqualTo(401);
            assertThat(get(c, "/metrics", "Bearer sk-tandem-one").statusCode()).isEqualTo(200);
            assertThat(get(c, "/health", null).statusCode()).isEqualTo(200);
        }
    }
}
