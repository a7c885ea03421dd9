package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.testing.TestCluster;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What goes on the wire when streaming: {@code data: {json}} events separated by blank lines, then [DONE]. */
class SseFramingTest {

    private static TestCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = TestCluster.start("kv", 1, 1 << 20, 1024);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    private static List<String> events(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        String body = r.body();
        assertThat(body).endsWith("data: [DONE]\n\n");
        List<String> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            assertThat(event).startsWith("data: ").doesNotContain("\n");
            out.add(event.substring("data: ".length()));
        }
        return out;
    }

    @Test
    void chatStreamIsFramedExactlyAsOpenAiDoes() throws Exception {
        List<String> events = events(cluster.post(
                "/v1/chat/completions",
                "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                        + "\"max_tokens\":6,\"ignore_eos\":true,\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}"));
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String e : events.subList(0, events.size() - 1)) {
            chunks.add(Json.MAPPER.readTree(e));
        }
        assertThat(chunks).allSatisfy(c -> assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk"));
        assertThat(chunks)
                .extracting(c -> c.get("id").asText())
                .containsOnly(chunks.get(0).get("id").asText());
        assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            c.at("/choices/0/delta/content").asText("");
            text.append(c.at("/choices/0/delta/content").asText(""));
        }
        assertThat(text).hasSize(6);
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("length");
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(6);
        assertThat(usage.at("/usage/prompt_tokens_details/cached_tokens").isNumber())
                .isTrue();
    }

    @Test
    void completionStreamCarriesTokenIdsWhenAsked() throws Exception {
        List<String> events = events(cluster.post(
                "/v1/completions",
                "{\"model\":\"tandem-demo\",\"prompt\":[1,2,3,4],\"max_tokens\":5,\"ignore_eos\":true,"
                        + "\"stream\":true,\"return_token_ids\":true}"));
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = Json.MAPPER.readTree(e);
            assertThat(c.get("object").asText()).isEqualTo("text_completion");
            c.at("/choices/0/token_ids").forEach(n -> ids.add(n.asInt()));
            text.append(c.at("/choices/0/text").asText());
        }
        assertThat(ids).hasSize(5);
        StringBuilder expected = new StringBuilder();
        ids.forEach(id -> expected.append((char) id.intValue()));
        assertThat(text.toString()).isEqualTo(expected.toString());
    }

    @Test
    void stopStringIsCutExactlyAndNeverStreamed() throws Exception {
        // Find what the model says for this prompt, then stop on a piece of it.
        HttpResponse<String> plain = cluster.post(
                "/v1/completions",
                "{\"model\":\"tandem-demo\",\"prompt\":\"stop test\",\"max_tokens\":12,\"ignore_eos\":true}");
        String full = Json.MAPPER.readTree(plain.body()).at("/choices/0/text").asText();
        String stop = full.substring(5, 7);
        String before = full.substring(0, full.indexOf(stop));
        String body = "{\"model\":\"tandem-demo\",\"prompt\":\"stop test\",\"max_tokens\":12,\"ignore_eos\":true,"
                + "\"stream\":true,\"stop\":" + Json.MAPPER.writeValueAsString(stop) + "}";
        StringBuilder text = new StringBuilder();
        String finish = null;
        List<String> events = events(cluster.post("/v1/completions", body));
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = Json.MAPPER.readTree(e);
            text.append(c.at("/choices/0/text").asText());
            if (!c.at("/choices/0/finish_reason").isNull()) {
                finish = c.at("/choices/0/finish_reason").asText();
            }
        }
        assertThat(text.toString()).isEqualTo(before);
        assertThat(finish).isEqualTo("stop");
    }
}
