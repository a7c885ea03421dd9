package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /status}: a page for a person, static HTML and JavaScript with no external assets, showing every worker and
 * the latest routing decisions from {@code /status.json}; rendered by headless Chromium when it is installed (with
 * {@code CI=true} its absence is a failure, not a skip).
 */
class StatusPageTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private static EmbeddedCluster start() throws Exception {
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        return EmbeddedCluster.start(
                new EmbeddedCluster.Settings(fc, 3, "sim", null, "tandem", 16, 1024, 100, Map.of()));
    }

    private static HttpResponse<String> get(EmbeddedCluster c, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + path))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void complete(EmbeddedCluster c, int i) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tandem-demo\",\"prompt\":\"status "
                                + "page request " + i + "\",\"max_tokens\":4}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void theStatusJsonListsEveryWorkerAndTheLatestDecisions() throws Exception {
        try (EmbeddedCluster c = start()) {
            for (int i = 0; i < 5; i++) {
                complete(c, i);
            }
            Thread.sleep(400); // load snapshots arrive every 200 ms
            JsonNode s = new ObjectMapper().readTree(get(c, "/status.json").body());
            assertThat(s.get("policy").asText()).isEqualTo("tandem");
            assertThat(s.get("workers")).hasSize(3);
            for (JsonNode w : s.get("workers")) {
                assertThat(w.get("id").asText()).startsWith("worker-");
                assertThat(w.get("role").asText()).isEqualTo("agg");
                assertThat(w.get("state").asText()).isEqualTo("up");
                assertThat(w.get("kv_blocks_total").asInt()).isEqualTo(1024);
                assertThat(w.has("running") && w.has("waiting")).isTrue();
            }
            assertThat(s.get("decisions")).hasSize(5);
            assertThat(s.get("decisions").get(0).get("overlap").asDouble()).isBetween(0.0, 1.0);
        }
    }

    @Test
    void thePageIsSelfContained() throws Exception {
        try (EmbeddedCluster c = start()) {
            HttpResponse<String> r = get(c, "/status");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
            assertThat(r.body()).contains("<script>").contains("status.json").contains("KV usage");
            assertThat(r.body()).doesNotContainPattern("(src|href)=\"(https?:)?//");
        }
    }

    /** Chromium's binary, or null; with CI=true a missing one fails the test. */
    private static String chromium() {
        for (String dirName : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
                if (Files.isExecutable(Path.of(dirName, name))) {
                    return Path.of(dirName, name).toString();
                }
            }
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("no chromium on the PATH (CI=true: .ci/run installs Debian's chromium)");
        }
        Assumptions.abort("no chromium on the PATH: the page is not rendered");
        return null;
    }

    @Test
    void headlessChromiumRendersEveryWorkerAndItsKvUsage() throws Exception {
        String browser = chromium();
        try (EmbeddedCluster c = start()) {
            for (int i = 0; i < 3; i++) {
                complete(c, i);
            }
            Path out = dir.resolve("dom.html");
            Process p = new ProcessBuilder(
                            browser,
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--user-data-dir=" + dir.resolve("profile"),
                            "--virtual-time-budget=5000",
                            "--dump-dom",
                            "http://127.0.0.1:" + c.port() + "/status")
                    .redirectOutput(out.toFile())
                    .redirectError(dir.resolve("chromium.err").toFile())
                    .start();
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("chromium finished").isTrue();
            String dom = Files.readString(out);
            String text = dom.replaceAll("(?s)<script.*?</script>|<style.*?</style>", " ")
                    .replaceAll("<[^>]+>", " ");
            for (String w : new String[] {"worker-0", "worker-1", "worker-2"}) {
                assertThat(text).contains(w);
            }
            assertThat(text).containsPattern("\\bKV\\b").contains("3 workers").contains("blocks");
        }
    }
}
