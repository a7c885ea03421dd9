package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.orchestrator.testing.TestCluster;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad input gets the right status and OpenAI error JSON, and the server keeps serving. */
class ApiValidationTest {

    private static TestCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = TestCluster.start("kv", 1, 4096, 1024);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    private static JsonNode assertError(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode err = Json.MAPPER.readTree(r.body()).get("error");
        assertThat(err).isNotNull();
        assertThat(err.get("message").asText())
                .isNotBlank()
                .doesNotContain("Exception")
                .doesNotContain("\tat ");
        assertThat(err.has("type") && err.has("param") && err.has("code")).isTrue();
        return err;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "malformed JSON|{not json|",
                "empty body||",
                "array body|[1,2]|",
                "missing model|{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}|model",
                "messages not a list|{\"model\":\"tandem-demo\",\"messages\":\"hi\"}|messages",
                "empty messages|{\"model\":\"tandem-demo\",\"messages\":[]}|messages",
                "role missing|{\"model\":\"tandem-demo\",\"messages\":[{\"content\":\"x\"}]}|messages[0].role",
                "unknown role|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}|messages",
                "negative max_tokens|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":-5}|max_tokens",
                "zero max_completion_tokens|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":0}|max_completion_tokens",
                "string max_tokens|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"5\"}|max_tokens",
                "temperature too high|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":7}|temperature",
                "top_p zero|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":0}|top_p",
                "n of two|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}|n",
                "stream not boolean|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}|stream",
                "stop of numbers|{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}|stop",
            })
    void chatRejectsInvalidRequestsWith400(String name, String body, String param) throws Exception {
        JsonNode err = assertError(cluster.post("/v1/chat/completions", body == null ? "" : body), 400);
        assertThat(err.get("type").asText()).isEqualTo("invalid_request_error");
        if (param != null && !param.isEmpty()) {
            assertThat(err.get("param").asText()).isEqualTo(param);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "missing prompt|{\"model\":\"tandem-demo\"}",
                "empty prompt array|{\"model\":\"tandem-demo\",\"prompt\":[]}",
                "negative token id|{\"model\":\"tandem-demo\",\"prompt\":[1,-2]}",
                "token id beyond the vocabulary|{\"model\":\"tandem-demo\",\"prompt\":[1,99999]}",
                "prompt of objects|{\"model\":\"tandem-demo\",\"prompt\":[{\"a\":1}]}",
                "stop_token_ids not an array|{\"model\":\"tandem-demo\",\"prompt\":[1],\"max_tokens\":1,\"stop_token_ids\":\"x\"}",
            })
    void completionsRejectInvalidRequestsWith400(String name, String body) throws Exception {
        assertError(cluster.post("/v1/completions", body), 400);
    }

    @Test
    void unknownModelIs404() throws Exception {
        JsonNode err = assertError(
                cluster.post(
                        "/v1/chat/completions",
                        "{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
                404);
        assertThat(err.get("code").asText()).isEqualTo("model_not_found");
    }

    @Test
    void oversizedBodyIs413AsOpenAiJson() throws Exception {
        String big = "{\"model\":\"tandem-demo\",\"prompt\":\"" + "a".repeat(10_000) + "\"}";
        assertError(cluster.post("/v1/completions", big), 413);
    }

    @Test
    void unknownRouteIs404AsOpenAiJson() throws Exception {
        assertError(cluster.get("/v1/nothing-here"), 404);
    }

    @Test
    void serverStillServesAfterBadInput() throws Exception {
        cluster.post("/v1/chat/completions", "{\"model\":");
        cluster.post("/v1/completions", "\u0000\u0001garbage");
        HttpResponse<String> ok = cluster.post(
                "/v1/completions", "{\"model\":\"tandem-demo\",\"prompt\":\"still here\",\"max_tokens\":3}");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(cluster.get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void maxTokensBeyondTheContextIsRefusedAsVllmDoes() throws Exception {
        JsonNode err = assertError(
                cluster.post(
                        "/v1/completions", "{\"model\":\"tandem-demo\",\"prompt\":\"x\",\"max_tokens\":1000000000}"),
                400);
        assertThat(err.get("message").asText()).contains("maximum context length");
        assertThat(err.get("param").asText()).isEqualTo("max_tokens");
        int context = cluster.get("/v1/models").body().contains("max_model_len")
                ? Json.MAPPER
                        .readTree(cluster.get("/v1/models").body())
                        .at("/data/0/max_model_len")
                        .asInt()
                : -1;
        assertThat(context).isPositive();
        // three prompt tokens and a budget that overshoots the context by one: refused, not cut short
        assertError(
                cluster.post(
                        "/v1/completions",
                        "{\"model\":\"tandem-demo\",\"prompt\":[1,2,3],\"max_tokens\":" + (context - 2) + "}"),
                400);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "tools|{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
                "tool_choice|{\"tool_choice\":\"required\"}",
                "response_format|{\"response_format\":{\"type\":\"json_object\"}}",
                "logit_bias|{\"logit_bias\":{\"65\":10}}",
                "guided_json|{\"guided_json\":{\"type\":\"object\"}}",
            })
    void fieldsTheEngineCannotHonourAreRefusedByName(String field, String extra) throws Exception {
        String body = "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"max_tokens\":2," + extra.substring(1);
        JsonNode err = assertError(cluster.post("/v1/chat/completions", body), 400);
        assertThat(err.get("param").asText()).isEqualTo(field);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "null tools|\"tools\":null",
                "empty tools|\"tools\":[]",
                "tool_choice none|\"tool_choice\":\"none\"",
                "text response_format|\"response_format\":{\"type\":\"text\"}",
                "empty logit_bias|\"logit_bias\":{}",
            })
    void emptyOrDefaultValuesOfThoseFieldsAreServed(String name, String extra) throws Exception {
        String body = "{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"max_tokens\":2," + extra + "}";
        HttpResponse<String> r = cluster.post("/v1/chat/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    @Test
    void jsonFollowedByGarbageIsRefused() throws Exception {
        assertError(
                cluster.post(
                        "/v1/completions",
                        "{\"model\":\"tandem-demo\",\"prompt\":\"x\",\"max_tokens\":2} {\"again\":1}"),
                400);
    }

    @Test
    void deepNestingIsRefusedWithoutHarm() throws Exception {
        assertError(cluster.post("/v1/completions", "[".repeat(3000)), 400);
    }
}
