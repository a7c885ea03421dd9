package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.testing.TestCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The request timeout bounds the wait for the next token, as FrontendConfig documents, not the whole answer. */
class RequestTimeoutTest {

    @Test
    void anAnswerLongerThanTheTimeoutThatKeepsStreamingIsNotCutOff() throws Exception {
        // sim at 0.02x: the prefill step takes ~0.8 s, each decode step ~0.3 s; six tokens take ~2 s in all
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, 1 << 20, 16, Duration.ofMillis(1500));
        try (TestCluster cluster = TestCluster.start(fc, 1, 0.02)) {
            long t0 = System.nanoTime();
            var r = cluster.post(
                    "/v1/completions",
                    "{\"model\":\"tandem-demo\",\"prompt\":[1,2,3],\"max_tokens\":6,\"ignore_eos\":true}");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode j = Json.MAPPER.readTree(r.body());
            assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(6);
            assertThat(ms).as("the answer took longer than the timeout").isGreaterThan(1500);
        }
    }
}
