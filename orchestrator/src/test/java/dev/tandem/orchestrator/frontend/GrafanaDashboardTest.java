package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Grafana dashboard in examples/ queries only metrics a frontend exposes. */
class GrafanaDashboardTest {

    private static final Path DASHBOARD = Path.of("..", "examples", "grafana", "tandem-dashboard.json");

    @Test
    void everyMetricTheDashboardQueriesIsExposedOnMetrics() throws Exception {
        JsonNode d = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> queried = new TreeSet<>();
        for (JsonNode panel : d.get("panels")) {
            assertThat(panel.get("targets")).as(panel.get("title").asText()).isNotEmpty();
            for (JsonNode t : panel.get("targets")) {
                Matcher m =
                        Pattern.compile("tandem_[a-z_]+").matcher(t.get("expr").asText());
                while (m.find()) {
                    queried.add(m.group().replaceAll("_(bucket|count|sum)$", ""));
                }
            }
        }
        assertThat(queried).hasSizeGreaterThan(10);
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        try (EmbeddedCluster c = EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, 1, "sim", null, "tandem", 16, 1024, 100, Map.of()))) {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + c.port();
            http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"model\":\"tandem-demo\",\"prompt\":\"dashboard\",\"max_tokens\":4}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            Thread.sleep(300);
            String metrics = http.send(
                            HttpRequest.newBuilder(URI.create(base + "/metrics"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            for (String name : queried) {
                assertThat(metrics).as(name).containsPattern("(?m)^# TYPE " + Pattern.quote(name) + " ");
            }
        }
    }
}
