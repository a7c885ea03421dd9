package dev.tandem.orchestrator.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.orchestrator.frontend.Disaggregation;
import dev.tandem.orchestrator.frontend.FrontendConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disaggregated serving through the HTTP API on stories260K, every worker in one JVM with the same connector path
 * as across processes (the peer connector over loopback gRPC): prefill on one worker, decode on another, tokens
 * equal to llama2.c's; the response headers say who did what; a prefill worker that is gone or cannot hand its KV
 * over ends in the same tokens; a worker pulls a prefix its peer has cached; evicted blocks return from the host
 * tier.
 */
class DisaggregatedServingTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private record Case(List<Integer> prompt, List<Integer> greedy) {}

    private static List<Case> cases() throws Exception {
        JsonNode root = JSON.readTree(
                SharedFixtures.require("reference/stories260K-greedy.json").toFile());
        List<Case> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            out.add(new Case(ints(c.get("prompt")), ints(c.get("greedy"))));
        }
        return out;
    }

    private static List<Integer> ints(JsonNode a) {
        List<Integer> v = new ArrayList<>();
        a.forEach(n -> v.add(n.asInt()));
        return v;
    }

    private static EmbeddedCluster start(
            int workers, int prefill, int decode, int maxLocal, String router, int kvBlocks, KvConnectorSettings kv)
            throws Exception {
        FrontendConfig fc = new FrontendConfig(
                        "127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2))
                .withDisaggregation(new Disaggregation(maxLocal, 32768, 256));
        return EmbeddedCluster.start(new EmbeddedCluster.Settings(
                fc,
                workers,
                "native",
                SharedFixtures.require("models/stories260K.bin").toString(),
                router,
                16,
                kvBlocks,
                1,
                Map.of("threads", "1"),
                true,
                List.of(),
                prefill,
                decode,
                kv));
    }

    private record Answer(int status, List<Integer> tokens, JsonNode usage, HttpResponse<String> response) {
        String header(String name) {
            return response.headers().firstValue(name).orElse(null);
        }
    }

    private static Answer complete(EmbeddedCluster c, List<Integer> prompt, int max, boolean stream) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", "stories260K");
        ArrayNode p = body.putArray("prompt");
        prompt.forEach(p::add);
        body.put("max_tokens", max);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        body.put("return_token_ids", true);
        body.put("stream", stream);
        if (stream) {
            body.putObject("stream_options").put("include_usage", true);
        }
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        List<Integer> tokens = new ArrayList<>();
        JsonNode usage = null;
        if (r.statusCode() == 200 && stream) {
            for (String line : r.body().split("\n")) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                    continue;
                }
                JsonNode chunk = JSON.readTree(line.substring(6));
                for (JsonNode ch : chunk.path("choices")) {
                    ch.path("token_ids").forEach(t -> tokens.add(t.asInt()));
                }
                if (chunk.hasNonNull("usage")) {
                    usage = chunk.get("usage");
                }
            }
        } else if (r.statusCode() == 200) {
            JsonNode j = JSON.readTree(r.body());
            j.at("/choices/0/token_ids").forEach(t -> tokens.add(t.asInt()));
            usage = j.get("usage");
        }
        return new Answer(r.statusCode(), tokens, usage, r);
    }

    @Test
    void everyReferencePromptIsPrefilledOnOneWorkerAndDecodedOnAnotherTokenExact() throws Exception {
        try (EmbeddedCluster c = start(0, 1, 1, 0, "tandem", 1024, KvConnectorSettings.PEER_ONLY)) {
            int i = 0;
            for (Case k : cases()) {
                Answer a = complete(c, k.prompt(), k.greedy().size(), i++ % 2 == 1);
                assertThat(a.status()).isEqualTo(200);
                assertThat(a.tokens()).as("case %d", i - 1).containsExactlyElementsOf(k.greedy());
                assertThat(a.header("x-tandem-prefill-worker-id")).isEqualTo("prefill-0");
                assertThat(a.header("x-tandem-worker-id")).isEqualTo("decode-0");
                // The decoder received the KV of every prompt token it did not have cached itself.
                int moved = Integer.parseInt(a.header("x-tandem-kv-transferred-tokens"));
                assertThat(moved).isGreaterThanOrEqualTo(k.prompt().size() - 16).isPositive();
                assertThat(a.usage().get("prompt_tokens").asInt())
                        .isEqualTo(k.prompt().size());
                assertThat(a.usage().get("completion_tokens").asInt())
                        .isEqualTo(k.greedy().size());
            }
        }
    }

    @Test
    void shortPromptsArePrefilledByTheDecoderUnderTheDefaultThreshold() throws Exception {
        try (EmbeddedCluster c = start(0, 1, 1, 1000, "tandem", 1024, KvConnectorSettings.PEER_ONLY)) {
            Case k = cases().get(0);
            Answer a = complete(c, k.prompt(), k.greedy().size(), false);
            assertThat(a.tokens()).containsExactlyElementsOf(k.greedy());
            assertThat(a.header("x-tandem-prefill-worker-id")).isNull();
            assertThat(a.header("x-tandem-worker-id")).isEqualTo("decode-0");
            assertThat(a.header("x-tandem-kv-transferred-tokens")).isEqualTo("0");
        }
    }

    @Test
    void aPrefillWorkerThatIsGoneLeavesThePrefillToTheDecoder() throws Exception {
        try (EmbeddedCluster c = start(0, 1, 1, 0, "tandem", 1024, KvConnectorSettings.PEER_ONLY)) {
            c.workers().getFirst().engine().close(); // its registration stays: the frontend finds out by trying
            for (Case k : cases().subList(0, 4)) {
                Answer a = complete(c, k.prompt(), k.greedy().size(), false);
                assertThat(a.status()).isEqualTo(200);
                assertThat(a.tokens()).containsExactlyElementsOf(k.greedy());
                assertThat(a.header("x-tandem-worker-id")).isEqualTo("decode-0");
                assertThat(a.header("x-tandem-prefill-worker-id")).isNull();
            }
        }
    }

    @Test
    void aPrefillWhoseKvCannotBePulledIsRecomputedByTheDecoder() throws Exception {
        try (EmbeddedCluster c = start(0, 1, 1, 0, "tandem", 1024, KvConnectorSettings.PEER_ONLY)) {
            c.transferServers().getFirst().close(); // the prefill worker computes, but nobody can pull its KV
            for (Case k : cases().subList(0, 4)) {
                Answer a = complete(c, k.prompt(), k.greedy().size(), false);
                assertThat(a.status()).isEqualTo(200);
                assertThat(a.tokens()).containsExactlyElementsOf(k.greedy());
                assertThat(a.header("x-tandem-prefill-worker-id")).isEqualTo("prefill-0");
                assertThat(a.header("x-tandem-kv-transferred-tokens")).isEqualTo("0");
            }
        }
    }

    /** A 300-token prompt from the reference outputs (token ids the model knows). */
    private static List<Integer> longPrompt(int k) throws Exception {
        List<Integer> pool = new ArrayList<>();
        cases().forEach(c -> pool.addAll(c.greedy()));
        List<Integer> p = new ArrayList<>(List.of(1));
        for (int i = 0; i < 299; i++) {
            p.add(pool.get((k * 997 + i) % pool.size()));
        }
        return p;
    }

    @Test
    void aWorkerPullsAPrefixItsPeerHasCachedInsteadOfRecomputingIt() throws Exception {
        try (EmbeddedCluster c = start(2, 0, 0, 1000, "round-robin", 1024, KvConnectorSettings.PEER_ONLY)) {
            List<Integer> prompt = longPrompt(7);
            Answer a = complete(c, prompt, 32, false);
            Thread.sleep(300); // the first worker's KV events reach the router
            Answer b = complete(c, prompt, 32, false);
            assertThat(b.header("x-tandem-worker-id")).isNotEqualTo(a.header("x-tandem-worker-id"));
            assertThat(b.header("x-tandem-prefill-worker-id")).isEqualTo(a.header("x-tandem-worker-id"));
            assertThat(b.usage().at("/prompt_tokens_details/cached_tokens").asInt())
                    .isGreaterThanOrEqualTo(288);
            assertThat(b.tokens()).isEqualTo(a.tokens()).hasSize(32);
        }
    }

    @Test
    void blocksEvictedFromASmallPrimaryCacheComeBackFromTheHostTier() throws Exception {
        for (boolean tier : new boolean[] {false, true}) {
            KvConnectorSettings kv =
                    tier ? new KvConnectorSettings(true, 64L << 20, null, 0) : KvConnectorSettings.PEER_ONLY;
            try (EmbeddedCluster c = start(1, 0, 0, 1000, "tandem", 48, kv)) {
                Answer first = complete(c, longPrompt(0), 32, false);
                for (int k = 1; k < 6; k++) {
                    complete(c, longPrompt(k), 32, false);
                }
                Answer again = complete(c, longPrompt(0), 32, false);
                assertThat(again.tokens()).isEqualTo(first.tokens());
                int cached =
                        again.usage().at("/prompt_tokens_details/cached_tokens").asInt();
                if (tier) {
                    assertThat(cached).isGreaterThanOrEqualTo(288);
                } else {
                    assertThat(cached).isLessThan(128); // the control: the blocks really were evicted
                }
            }
        }
    }

    @Test
    void blocksEvictedToDiskComeBackToo() throws Exception {
        KvConnectorSettings kv = new KvConnectorSettings(true, 0, dir.resolve("kv"), 64L << 20);
        try (EmbeddedCluster c = start(1, 0, 0, 1000, "tandem", 48, kv)) {
            Answer first = complete(c, longPrompt(0), 32, false);
            for (int k = 1; k < 6; k++) {
                complete(c, longPrompt(k), 32, false);
            }
            Thread.sleep(200); // the disk tier writes on its own thread
            Answer again = complete(c, longPrompt(0), 32, false);
            assertThat(again.tokens()).isEqualTo(first.tokens());
            assertThat(again.usage().at("/prompt_tokens_details/cached_tokens").asInt())
                    .isGreaterThanOrEqualTo(288);
        }
    }
}
