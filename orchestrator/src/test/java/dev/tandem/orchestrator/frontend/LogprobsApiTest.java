package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.testing.TestCluster;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Log-probabilities in both OpenAI shapes. The sim engine's "model" is deterministic, so each generated token has
 * log-probability 0 and is its own only alternative: exact values to assert on the wire.
 */
class LogprobsApiTest {

    private static TestCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = TestCluster.start("kv", 1, 1 << 20, 64);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void completionsReturnTokensLogprobsTopAlternativesAndOffsets() throws Exception {
        HttpResponse<String> r = cluster.post(
                "/v1/completions",
                "{\"model\":\"tandem-demo\",\"prompt\":\"abc\",\"max_tokens\":5,\"ignore_eos\":true,\"logprobs\":1}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = Json.MAPPER.readTree(r.body()).at("/choices/0");
        JsonNode lp = choice.get("logprobs");
        assertThat(lp.get("tokens")).hasSize(5);
        assertThat(lp.get("token_logprobs"))
                .allSatisfy(v -> assertThat(v.asDouble()).isEqualTo(0.0));
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            String token = lp.get("tokens").get(i).asText();
            assertThat(lp.get("text_offset").get(i).asInt()).isEqualTo(joined.length());
            assertThat(lp.get("top_logprobs").get(i).get(token).asDouble()).isEqualTo(0.0);
            joined.append(token);
        }
        assertThat(joined.toString()).isEqualTo(choice.get("text").asText());
    }

    @Test
    void chatReturnsContentEntriesWithBytesAndTopLogprobs() throws Exception {
        HttpResponse<String> r = cluster.post(
                "/v1/chat/completions",
                "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,"
                        + "\"ignore_eos\":true,\"logprobs\":true,\"top_logprobs\":1}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = Json.MAPPER.readTree(r.body()).at("/choices/0");
        JsonNode content = choice.at("/logprobs/content");
        assertThat(content).hasSize(4);
        StringBuilder joined = new StringBuilder();
        for (JsonNode e : content) {
            assertThat(e.get("logprob").asDouble()).isEqualTo(0.0);
            assertThat(e.get("bytes").size()).isEqualTo(e.get("token").asText().getBytes().length);
            assertThat(e.get("top_logprobs")).hasSize(1);
            assertThat(e.at("/top_logprobs/0/token").asText())
                    .isEqualTo(e.get("token").asText());
            joined.append(e.get("token").asText());
        }
        assertThat(joined.toString()).isEqualTo(choice.at("/message/content").asText());
    }

    @Test
    void withoutLogprobsTheFieldIsNullAndTopLogprobsAloneIsRefused() throws Exception {
        HttpResponse<String> plain =
                cluster.post("/v1/completions", "{\"model\":\"tandem-demo\",\"prompt\":\"abc\",\"max_tokens\":2}");
        assertThat(Json.MAPPER.readTree(plain.body()).at("/choices/0/logprobs").isNull())
                .isTrue();
        HttpResponse<String> bad = cluster.post(
                "/v1/chat/completions",
                "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_logprobs\":2}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(Json.MAPPER.readTree(bad.body()).at("/error/param").asText()).isEqualTo("top_logprobs");
    }
}
