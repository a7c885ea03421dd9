package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import dev.tandem.orchestrator.testing.TestCluster;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK against the embedded server. */
class OpenAiSdkTest {

    private static TestCluster cluster;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        cluster = TestCluster.start("kv");
        client = OpenAIOkHttpClient.builder()
                .baseUrl(cluster.baseUrl() + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        cluster.close();
    }

    @Test
    void listsTheDemoModel() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly("tandem-demo");
    }

    @Test
    void chatCompletionReturnsTextAndUsage() {
        ChatCompletion c = client.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model("tandem-demo")
                        .addUserMessage("Tell me about tandem bicycles.")
                        .maxCompletionTokens(12)
                        .build());
        assertThat(c.choices()).hasSize(1);
        String text = c.choices().get(0).message().content().orElseThrow();
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.promptTokens()).isGreaterThan(20);
        assertThat(usage.completionTokens()).isBetween(1L, 12L);
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
        // The demo model emits printable ASCII, one byte per token, plus EOS (not shown).
        assertThat(text.length()).isBetween((int) usage.completionTokens() - 1, (int) usage.completionTokens());
        assertThat(c.choices().get(0).finishReason().asString()).isIn("stop", "length");
    }

    @Test
    void streamedChatMatchesTheChunkProtocolAndReportsUsage() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("tandem-demo")
                .addUserMessage("Stream me something.")
                .maxCompletionTokens(10)
                .streamOptions(
                        ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunks::add);
        }
        assertThat(chunks).isNotEmpty();
        assertThat(chunks.get(0).choices().get(0).delta().role()).isPresent();
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (ChatCompletionChunk ch : chunks) {
            for (var choice : ch.choices()) {
                choice.delta().content().ifPresent(text::append);
                if (choice.finishReason().isPresent()) {
                    finish = choice.finishReason().get().asString();
                }
            }
        }
        assertThat(finish).isIn("stop", "length");
        CompletionUsage usage = chunks.getLast().usage().orElseThrow();
        assertThat(chunks.getLast().choices()).isEmpty();
        assertThat(usage.completionTokens()).isBetween(1L, 10L);
        assertThat(text.length()).isBetween((int) usage.completionTokens() - 1, (int) usage.completionTokens());
    }

    @Test
    void textCompletionHonoursMaxTokensWhenEosIsIgnored() {
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model("tandem-demo")
                        .prompt("Once upon a time")
                        .maxTokens(9)
                        .putAdditionalBodyProperty("ignore_eos", com.openai.core.JsonValue.from(true))
                        .build());
        assertThat(c.choices().get(0).text()).hasSize(9);
        assertThat(c.choices().get(0).finishReason().asString()).isEqualTo("length");
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(9);
    }

    @Test
    void identicalSecondRequestReportsCachedTokens() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("tandem-demo")
                .addUserMessage("A long and very specific prompt about caching. ".repeat(8))
                .maxCompletionTokens(4)
                .build();
        ChatCompletion first = client.chat().completions().create(params);
        long firstCached = first.usage()
                .orElseThrow()
                .promptTokensDetails()
                .orElseThrow()
                .cachedTokens()
                .orElse(0L);
        assertThat(firstCached).isZero();
        ChatCompletion second = client.chat().completions().create(params);
        long cached = second.usage()
                .orElseThrow()
                .promptTokensDetails()
                .orElseThrow()
                .cachedTokens()
                .orElse(0L);
        long prompt = second.usage().orElseThrow().promptTokens();
        assertThat(cached).isGreaterThan(0).isLessThan(prompt).isEqualTo(cached / 16 * 16);
    }
}
