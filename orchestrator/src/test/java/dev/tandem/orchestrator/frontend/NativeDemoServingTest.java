package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import dev.tandem.orchestrator.testing.TestCluster;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What {@code tandem serve} runs without {@code --model}: the native engine on the seeded demo model with the
 * byte-level tokenizer, so text prompts work out of the box, long prompts fit, and log-probabilities are the
 * model's (unlike the sim's constant 0).
 */
class NativeDemoServingTest {

    private static TestCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        cluster = TestCluster.start(
                new EmbeddedCluster.Settings(fc, 1, "native", null, "tandem", 16, 16384, 1, Map.of("threads", "2")));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aTwoThousandTokenTextPromptIsServed() throws Exception {
        String prompt =
                "The quick brown fox jumps over the lazy dog. ".repeat(45).substring(0, 2000);
        HttpResponse<String> r = cluster.post(
                "/v1/completions",
                "{\"model\":\"tandem-demo\",\"prompt\":\"" + prompt + "\",\"max_tokens\":4,\"ignore_eos\":true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = Json.MAPPER.readTree(r.body());
        // byte-level vocabulary: one token per character, plus BOS
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(2001);
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(4);
        assertThat(body.at("/model").asText()).isEqualTo("tandem-demo");
    }

    @Test
    void completionsCarryTheModelsLogprobsWithTopAlternatives() throws Exception {
        HttpResponse<String> r = cluster.post(
                "/v1/completions",
                "{\"model\":\"tandem-demo\",\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"ignore_eos\":true,"
                        + "\"logprobs\":3}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode lp = Json.MAPPER.readTree(r.body()).at("/choices/0/logprobs");
        assertThat(lp.get("tokens")).hasSize(6);
        boolean anyBelowZero = false;
        for (int i = 0; i < 6; i++) {
            double chosen = lp.get("token_logprobs").get(i).asDouble();
            JsonNode top = lp.get("top_logprobs").get(i);
            assertThat(top.size()).isBetween(1, 3); // alternatives that decode to the same text merge
            double best = Double.NEGATIVE_INFINITY;
            double mass = 0;
            for (Iterator<JsonNode> it = top.elements(); it.hasNext(); ) {
                double v = it.next().asDouble();
                assertThat(v).isLessThanOrEqualTo(0.0);
                best = Math.max(best, v);
                mass += Math.exp(v);
            }
            assertThat(mass).isLessThanOrEqualTo(1.0 + 1e-6);
            // temperature 1 by default: the chosen token need not be the best, but it is a real probability
            assertThat(chosen).isLessThanOrEqualTo(0.0).isGreaterThan(Double.NEGATIVE_INFINITY);
            anyBelowZero |= chosen < -1e-6;
        }
        assertThat(anyBelowZero)
                .as("a random model is not certain of its tokens")
                .isTrue();
    }
}
