package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import dev.tandem.orchestrator.testing.TestCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tandem in front of OpenAI-compatible upstreams ({@code --engine openai}), with Tandem's own server as the real
 * upstream: answers through the adapter are the upstream's, id for id and character for character, and a stream
 * whose upstream goes away continues on the other one without a lost or repeated token.
 */
class OpenAiUpstreamServingTest {

    private final List<TestCluster> upstreams = new ArrayList<>();
    private TestCluster front;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        for (int i = 0; i < 2; i++) {
            FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, 1 << 20, 64, Duration.ofMinutes(2));
            upstreams.add(TestCluster.start(fc, 1, 1)); // sim at real time: ~6 ms a token
        }
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, 1 << 20, 64, Duration.ofMinutes(2));
        List<Map<String, String>> perWorker = upstreams.stream()
                .map(u -> Map.of("upstream", u.baseUrl() + "/v1"))
                .toList();
        front = TestCluster.start(
                new EmbeddedCluster.Settings(fc, 2, "openai", null, "tandem", 16, 4096, 1, Map.of(), true, perWorker));
    }

    @AfterEach
    void stop() {
        if (front != null) {
            front.close();
        }
        upstreams.forEach(TestCluster::close);
    }

    private static String body(int maxTokens, boolean stream) {
        return "{\"model\":\"tandem-demo\",\"prompt\":[1,72,101,108,108,111,44,32,116,97,110,100,101,109],"
                + "\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true,\"return_token_ids\":true"
                + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "") + "}";
    }

    @Test
    void answersThroughTheAdapterAreTheUpstreamsExactly() throws Exception {
        JsonNode direct = Json.MAPPER.readTree(
                upstreams.get(1).post("/v1/completions", body(24, false)).body());
        HttpResponse<String> r = front.post("/v1/completions", body(24, false));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode viaAdapter = Json.MAPPER.readTree(r.body());
        assertThat(viaAdapter.at("/choices/0/token_ids")).isEqualTo(direct.at("/choices/0/token_ids"));
        assertThat(viaAdapter.at("/choices/0/text").asText())
                .isEqualTo(direct.at("/choices/0/text").asText());
        assertThat(viaAdapter.at("/usage/completion_tokens").asInt()).isEqualTo(24);
        assertThat(viaAdapter.at("/usage/prompt_tokens").asInt()).isEqualTo(14);
        assertThat(front.get("/v1/models").body()).contains("\"tandem-demo\"").contains("\"max_model_len\"");
    }

    @Test
    void aStreamWhoseUpstreamGoesAwayContinuesOnTheOtherTokenExact() throws Exception {
        JsonNode direct = Json.MAPPER.readTree(
                upstreams.get(1).post("/v1/completions", body(300, false)).body());
        List<Integer> want = new ArrayList<>();
        direct.at("/choices/0/token_ids").forEach(n -> want.add(n.asInt()));

        HttpResponse<java.io.InputStream> r = http.send(
                HttpRequest.newBuilder(URI.create(front.baseUrl() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body(300, true)))
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        int serving = r.headers().firstValue("x-tandem-worker-id").orElseThrow().endsWith("0") ? 0 : 1;
        List<Integer> got = new ArrayList<>();
        boolean done = false;
        boolean killed = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: ")) {
                    continue;
                }
                String data = line.substring(6);
                if (data.equals("[DONE]")) {
                    done = true;
                    break;
                }
                JsonNode c = Json.MAPPER.readTree(data);
                assertThat(c.has("error")).as(data).isFalse();
                c.at("/choices/0/token_ids").forEach(n -> got.add(n.asInt()));
                if (!killed && got.size() >= 20) {
                    upstreams.get(serving).close(); // the upstream goes away mid-stream
                    killed = true;
                }
            }
        }
        assertThat(killed).isTrue();
        assertThat(done).isTrue();
        assertThat(got).containsExactlyElementsOf(want);
    }

    @Test
    void withoutATokenizerTextAndChatPassThroughToTheUpstreamsOwn() throws Exception {
        String completion = "{\"model\":\"tandem-demo\",\"prompt\":\"Hello, tandem\",\"max_tokens\":12,"
                + "\"temperature\":0,\"ignore_eos\":true}";
        JsonNode direct = Json.MAPPER.readTree(
                upstreams.get(0).post("/v1/completions", completion).body());
        HttpResponse<String> r = front.post("/v1/completions", completion);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode via = Json.MAPPER.readTree(r.body());
        assertThat(via.at("/choices/0/text").asText())
                .isEqualTo(direct.at("/choices/0/text").asText());
        assertThat(via.at("/usage/prompt_tokens").asInt())
                .isEqualTo(direct.at("/usage/prompt_tokens").asInt());
        assertThat(via.at("/usage/completion_tokens").asInt()).isEqualTo(12);

        String chat = "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
        String directChat = upstreams
                .get(1)
                .post(
                        "/v1/chat/completions",
                        chat.replace(",\"stream\":true", "")
                                .replace(",\"stream_options\":{\"include_usage\":true}", ""))
                .body();
        HttpResponse<String> streamed = front.post("/v1/chat/completions", chat);
        assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(200);
        StringBuilder content = new StringBuilder();
        for (String line : streamed.body().split("\n")) {
            if (line.startsWith("data: {")) {
                content.append(Json.MAPPER
                        .readTree(line.substring(6))
                        .at("/choices/0/delta/content")
                        .asText(""));
            }
        }
        assertThat(streamed.body()).endsWith("data: [DONE]\n\n");
        assertThat(content.toString())
                .isEqualTo(Json.MAPPER
                        .readTree(directChat)
                        .at("/choices/0/message/content")
                        .asText());
    }

    @Test
    void theHttpTckPassesThroughTheAdapterWithoutATokenizer() {
        var results = new dev.tandem.conformance.http.HttpConformance(
                        front.baseUrl() + "/v1", null, Duration.ofSeconds(60))
                .run();
        assertThat(results)
                .filteredOn(r -> r.outcome() == dev.tandem.conformance.http.CaseResult.Outcome.FAILED)
                .isEmpty();
        assertThat(results)
                .filteredOn(r -> r.outcome() == dev.tandem.conformance.http.CaseResult.Outcome.PASSED)
                .hasSizeGreaterThanOrEqualTo(20);
    }
}
