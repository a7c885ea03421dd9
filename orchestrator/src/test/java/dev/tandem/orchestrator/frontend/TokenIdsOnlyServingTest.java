package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.orchestrator.cli.TandemCli;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A llama2.c checkpoint with no tokenizer beside it: token-array prompts work, text prompts get a clear 400. */
class TokenIdsOnlyServingTest {

    @TempDir
    static Path dir;

    private static EmbeddedCluster cluster;
    private static final HttpClient http = HttpClient.newHttpClient();
    private static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        Path bin = dir.resolve("bare.bin");
        assertThat(new CommandLine(new TandemCli())
                        .execute(
                                "write-model",
                                "--model",
                                "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=300,seq=256,seed=3",
                                "--format",
                                "llama2c",
                                "--output",
                                bin.toString()))
                .isZero();
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        cluster = EmbeddedCluster.start(new EmbeddedCluster.Settings(
                fc, 1, "native", bin.toString(), "tandem", 16, 256, 1, Map.of("threads", "1")));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.port() + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void tokenArrayPromptsAreServed() throws Exception {
        HttpResponse<String> r = post(
                "/v1/completions",
                "{\"model\":\"bare\",\"prompt\":[1,5,9,200],\"max_tokens\":6,\"temperature\":0,"
                        + "\"ignore_eos\":true,\"return_token_ids\":true}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json.readTree(r.body());
        assertThat(body.at("/choices/0/token_ids")).hasSize(6);
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void textPromptsAndChatsGetAClearBadRequest() throws Exception {
        for (var call : new String[][] {
            {"/v1/completions", "{\"model\":\"bare\",\"prompt\":\"hello\",\"max_tokens\":4}"},
            {"/v1/chat/completions", "{\"model\":\"bare\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"}
        }) {
            HttpResponse<String> r = post(call[0], call[1]);
            assertThat(r.statusCode()).as(call[0]).isEqualTo(400);
            JsonNode error = json.readTree(r.body()).get("error");
            assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).contains("tokenizer");
        }
        // and the server still serves afterwards
        assertThat(post("/v1/completions", "{\"model\":\"bare\",\"prompt\":[1],\"max_tokens\":1}")
                        .statusCode())
                .isEqualTo(200);
    }
}
