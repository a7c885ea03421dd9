package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import dev.tandem.orchestrator.runtime.WorkerHost;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A served model whose workers are all gone for now is a 503 clients retry; a name never served stays a 404. */
class NoWorkerLeftTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> complete(EmbeddedCluster c, String model) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"" + model + "\",\"prompt\":\"x\",\"max_tokens\":2}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aModelWhoseWorkersAllLeftIsUnavailableNotUnknown() throws Exception {
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(1));
        try (EmbeddedCluster c = EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, 2, "sim", null, "tandem", 16, 1024, 100, Map.of()))) {
            assertThat(complete(c, "tandem-demo").statusCode()).isEqualTo(200);
            c.workers().forEach(WorkerHost::close); // deregistered: the pool sees them leave
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (c.pool().size() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(c.pool().size()).isZero();
            HttpResponse<String> gone = complete(c, "tandem-demo");
            assertThat(gone.statusCode()).isEqualTo(503);
            JsonNode err = Json.MAPPER.readTree(gone.body()).get("error");
            assertThat(err.get("message").asText()).contains("tandem-demo").contains("at the moment");
            HttpResponse<String> unknown = complete(c, "never-served");
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(Json.MAPPER
                            .readTree(unknown.body())
                            .get("error")
                            .get("code")
                            .asText())
                    .isEqualTo("model_not_found");
        }
    }
}
