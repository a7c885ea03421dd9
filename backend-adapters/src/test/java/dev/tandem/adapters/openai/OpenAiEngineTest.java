package dev.tandem.adapters.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.conformance.engine.GenerationResult;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The openai engine against WireMock stubs of an upstream, answering as vLLM documents: models with
 * {@code max_model_len}, streamed completions with {@code token_ids} in odd but legal SSE framing, both shapes of
 * error body, and streams that break or crawl.
 */
class OpenAiEngineTest {

    private WireMockServer upstream;
    private Engine engine;

    @BeforeEach
    void start() {
        upstream = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
        upstream.start();
        upstream.stubFor(get(urlEqualTo("/v1/models"))
                .willReturn(aResponse()
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"object\":\"list\",\"data\":[{\"id\":\"llm\",\"object\":\"model\","
                                + "\"max_model_len\":4096}]}")));
        engine = new OpenAiEngineProvider()
                .create(EngineConfig.builder()
                        .workerId("w0")
                        .blockSize(16)
                        .options(Map.of("upstream", upstream.baseUrl() + "/v1"))
                        .build());
    }

    @AfterEach
    void stop() {
        engine.close();
        upstream.stop();
    }

    /** Runs {@code r} to its end, recorded by the Engine TCK's helper. */
    private GenerationResult run(GenerateRequest r) {
        GenerationResult g = GenerationResult.tryStart(engine, r);
        g.await(Duration.ofSeconds(20));
        return g;
    }

    private static GenerateRequest request(int maxTokens) {
        return new GenerateRequest(
                "r1", new int[] {5, 6, 7}, SamplingParams.GREEDY, StopConditions.maxTokens(maxTokens));
    }

    private void stubStream(String body) {
        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse()
                        .withHeader("Content-Type", "text/event-stream")
                        .withBody(body)));
    }

    private static String chunk(int id, String text, String finish) {
        return "{\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"" + text
                + "\",\"token_ids\":[" + id + "],\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"")
                + "}],\"usage\":null}";
    }

    private static final String USAGE = "{\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3,\"total_tokens\":6,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":2}}}";

    @Test
    void theUpstreamsModelAndContextLengthBecomeTheEngineInfo() {
        assertThat(engine.info().modelName()).isEqualTo("llm");
        assertThat(engine.info().contextLength()).isEqualTo(4096);
        assertThat(engine.info().blockSize()).isEqualTo(16);
    }

    @Test
    void oddButLegalSseFramingGivesExactIdsTextAndUsage() throws Exception {
        // "data:" without the space, a comment, CRLF line ends, two events in one line run
        stubStream(": ping\r\n\r\ndata:" + chunk(11, "w11 ", null) + "\r\n\r\ndata: " + chunk(12, "w12 ", null)
                + "\n\ndata:" + chunk(13, "w13 ", "length") + "\r\n\r\ndata: " + USAGE + "\n\ndata: [DONE]\n\n");
        GenerationResult r = run(request(3));
        assertThat(r.error()).isNull();
        assertThat(r.tokenIds()).containsExactly(11, 12, 13);
        assertThat(r.text()).isEqualTo("w11 w12 w13 ");
        TokenDelta last = r.deltas().getLast();
        assertThat(last.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(last.usage().cachedPromptTokens()).isEqualTo(2);
        assertThat(last.usage().completionTokens()).isEqualTo(3);
    }

    @Test
    void eventsSplitAcrossReadsAreReassembled() throws Exception {
        String body = "data: " + chunk(21, "a", null) + "\n\ndata: " + chunk(22, "b", "stop") + "\n\ndata: [DONE]\n\n";
        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse()
                        .withHeader("Content-Type", "text/event-stream")
                        .withBody(body)
                        .withChunkedDribbleDelay(40, 400)));
        GenerationResult r = run(request(2));
        assertThat(r.error()).isNull();
        assertThat(r.tokenIds()).containsExactly(21, 22);
        assertThat(r.deltas().getLast().finishReason()).isEqualTo(FinishReason.STOP);
        // no usage from the upstream: counted here
        assertThat(r.deltas().getLast().usage().completionTokens()).isEqualTo(2);
    }

    @Test
    void theRequestCarriesTokenIdsTheBudgetAndAsksForIdsBack() throws Exception {
        stubStream("data: " + chunk(1, "x", "length") + "\n\ndata: [DONE]\n\n");
        run(request(1));
        upstream.verify(postRequestedFor(urlEqualTo("/v1/completions"))
                .withRequestBody(equalToJson(
                        "{\"model\":\"llm\",\"prompt\":[5,6,7],\"max_tokens\":1,\"return_token_ids\":true,"
                                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                        true,
                        true)));
    }

    @Test
    void olderVllmsFlatErrorBecomesAnInvalidRequestWithItsMessage() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse()
                        .withStatus(400)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096"
                                + " tokens.\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}")));
        GenerationResult r = run(request(5000));
        EngineException e = r.error();
        assertThat(e.kind()).isEqualTo(EngineException.Kind.INVALID_REQUEST);
        assertThat(e.getMessage()).isEqualTo("This model's maximum context length is 4096 tokens.");
    }

    @Test
    void theNestedOpenAiErrorShapeIsReadToo() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse()
                        .withStatus(400)
                        .withBody("{\"error\":{\"message\":\"bad temperature\",\"type\":\"BadRequestError\","
                                + "\"param\":\"temperature\",\"code\":400}}")));
        GenerationResult r = run(request(2));
        assertThat(r.error().getMessage()).isEqualTo("bad temperature");
    }

    @Test
    void serverErrorsAndOverloadAreToldApart() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse().withStatus(503).withBody("down")));
        GenerationResult down = run(request(2));
        assertThat(down.error().kind()).as("another worker may serve it").isEqualTo(EngineException.Kind.UNAVAILABLE);

        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse().withStatus(429).withBody("{\"error\":{\"message\":\"slow down\"}}")));
        GenerationResult busy = run(request(2));
        assertThat(busy.error().kind()).isEqualTo(EngineException.Kind.OVERLOADED);
    }

    @Test
    void aStreamCutBeforeItsFinishIsUnavailableSoTheFrontendMigrates() throws Exception {
        stubStream("data: " + chunk(31, "a", null) + "\n\ndata: " + chunk(32, "b", null) + "\n\n");
        GenerationResult r = run(request(10));
        EngineException e = r.error();
        assertThat(e.kind()).isEqualTo(EngineException.Kind.UNAVAILABLE);
        assertThat(r.tokenIds())
                .as("the tokens before the break were delivered")
                .containsExactly(31, 32);
    }

    @Test
    void aConnectionResetIsUnavailable() throws Exception {
        upstream.stubFor(
                post(urlEqualTo("/v1/completions")).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        GenerationResult r = run(request(2));
        assertThat(r.error().kind()).isEqualTo(EngineException.Kind.UNAVAILABLE);
    }

    @Test
    void cancellingASlowStreamEndsItWithCancelledAndFreesTheLoad() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/completions"))
                .willReturn(aResponse()
                        .withHeader("Content-Type", "text/event-stream")
                        .withBody("data: " + chunk(1, "x", "length") + "\n\ndata: [DONE]\n\n")
                        .withFixedDelay(10_000)));
        GenerationResult r = GenerationResult.start(engine, request(1));
        assertThat(engine.load().runningRequests()).isEqualTo(1);
        r.generation().cancel();
        r.await(Duration.ofSeconds(20));
        assertThat(r.error()).isNull();
        assertThat(r.deltas().getLast().finishReason()).isEqualTo(FinishReason.CANCELLED);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (engine.load().runningRequests() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.load().runningRequests()).isZero();
    }

    @Test
    void theUpstreamsMetricsRaiseTheLoadItReports() throws Exception {
        upstream.stubFor(get(urlEqualTo("/metrics"))
                .willReturn(aResponse()
                        .withBody("vllm:num_requests_running{engine=\"0\"} 9.0\n"
                                + "vllm:num_requests_waiting{engine=\"0\"} 4.0\n"
                                + "vllm:kv_cache_usage_perc{engine=\"0\"} 0.5\n")));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (engine.load().runningRequests() != 9 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        var load = engine.load();
        assertThat(load.runningRequests())
                .as("other clients' requests on the upstream count")
                .isEqualTo(9);
        assertThat(load.waitingRequests()).isEqualTo(4);
        assertThat(load.kvBlocksUsed()).isEqualTo(load.kvBlocksTotal() / 2);
    }

    @Test
    void aTokenizerOptionBecomesTheModelSourceTheFrontendLoadsItFrom() {
        try (Engine e = new OpenAiEngineProvider()
                .create(EngineConfig.builder()
                        .options(Map.of("upstream", upstream.baseUrl() + "/v1", "tokenizer", "/models/llm"))
                        .build())) {
            assertThat(e.info().source()).isEqualTo("/models/llm");
        }
        assertThat(engine.info().source())
                .as("without one: token-id prompts only")
                .isNull();
    }

    @Test
    void unknownOptionsAndAMissingUpstreamAreRefused() {
        var provider = new OpenAiEngineProvider();
        assertThatThrownBy(() -> provider.create(EngineConfig.builder()
                        .options(Map.of("upstream", upstream.baseUrl() + "/v1", "upstreem", "x"))
                        .build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("upstreem");
        assertThatThrownBy(() -> provider.create(EngineConfig.builder().build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--upstream");
    }

    @Test
    void anUnreachableUpstreamFailsTheWorkerAtStartWithAClearMessage() {
        int port = upstream.port();
        upstream.stop();
        assertThatThrownBy(() -> new OpenAiEngineProvider()
                        .create(EngineConfig.builder()
                                .options(Map.of("upstream", "http://127.0.0.1:" + port + "/v1"))
                                .build()))
                .isInstanceOf(EngineException.class)
                .hasMessageContaining("unreachable");
    }
}
