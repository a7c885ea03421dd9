package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.tandem.api.proto.ModelCard;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.orchestrator.cli.TandemCli;
import dev.tandem.orchestrator.preprocess.ModelResolver;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Text prompts end to end on the CPU engine with a Hugging Face tokenizer: a random Llama with the vocabulary of
 * ../shared/models/tiny-random-gpt2, written as an HF directory next to that tokenizer.json and a chat template
 * written here, served over HTTP and called with the official OpenAI SDK.
 */
class HfTokenizerServingTest {

    private static final String TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
            + "{% if add_generation_prompt %}<|assistant|>{% endif %}";

    @TempDir
    static Path dir;

    private static EmbeddedCluster cluster;
    private static OpenAIClient client;
    private static Tokenizer tokenizer;
    private static String model;

    @BeforeAll
    static void start() throws Exception {
        Path gpt2 = SharedFixtures.require("models/tiny-random-gpt2");
        Path hf = dir.resolve("tiny-llama");
        int code = new CommandLine(new TandemCli())
                .execute(
                        "write-model",
                        "--model",
                        "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=1000,seq=512,bos=98,eos=98,seed=5",
                        "--format",
                        "hf",
                        "--output",
                        hf.toString());
        assertThat(code).isZero();
        Files.copy(gpt2.resolve("tokenizer.json"), hf.resolve("tokenizer.json"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode config =
                (ObjectNode) json.readTree(gpt2.resolve("tokenizer_config.json").toFile());
        config.put("chat_template", TEMPLATE);
        json.writeValue(hf.resolve("tokenizer_config.json").toFile(), config);

        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        cluster = EmbeddedCluster.start(new EmbeddedCluster.Settings(
                fc, 1, "native", hf.toString(), "tandem", 16, 256, 1, Map.of("threads", "1")));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + cluster.port() + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .build();
        model = client.models().list().data().get(0).id();
        tokenizer = new ModelResolver()
                .resolve(ModelCard.newBuilder()
                        .setModel(model)
                        .setVocabSize(1000)
                        .setSource(hf.toString())
                        .build())
                .tokenizer();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aTextCompletionIsTokenizedByTheModelsTokenizerAndDetokenizedBack() {
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model(model)
                        .prompt("hello world, this is a test")
                        .maxTokens(8)
                        .temperature(0.0)
                        .putAdditionalBodyProperty("ignore_eos", com.openai.core.JsonValue.from(true))
                        .putAdditionalBodyProperty("return_token_ids", com.openai.core.JsonValue.from(true))
                        .build());
        var usage = c.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(tokenizer.encode("hello world, this is a test").length);
        assertThat(usage.completionTokens()).isEqualTo(8);
        JsonNode ids = new ObjectMapper()
                .valueToTree(c.choices().get(0)._additionalProperties().get("token_ids"));
        int[] generated = new int[ids.size()];
        for (int i = 0; i < generated.length; i++) {
            generated[i] = ids.get(i).asInt();
        }
        assertThat(generated).hasSize(8);
        assertThat(c.choices().get(0).text()).isEqualTo(tokenizer.decode(generated));
    }

    @Test
    void aChatIsRenderedWithTheTemplateFromTokenizerConfig() {
        ChatCompletion c = client.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model(model)
                        .addSystemMessage("be brief")
                        .addUserMessage("hello world")
                        .maxCompletionTokens(4)
                        .temperature(0.0)
                        .build());
        String rendered = "<|system|>be brief\n<|user|>hello world\n<|assistant|>";
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(tokenizer.encode(rendered).length);
        // the same ids as a plain completion of the rendered text: greedy, so the same continuation
        var plain = client.completions()
                .create(com.openai.models.completions.CompletionCreateParams.builder()
                        .model(model)
                        .prompt(rendered)
                        .maxTokens(4)
                        .temperature(0.0)
                        .build());
        assertThat(plain.usage().orElseThrow().promptTokens())
                .isEqualTo(c.usage().orElseThrow().promptTokens());
        assertThat(c.choices().get(0).message().content())
                .hasValue(plain.choices().get(0).text());
    }
}
