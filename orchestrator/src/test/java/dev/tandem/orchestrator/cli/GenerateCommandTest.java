package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.tokenizer.HfTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code generate} contract: {@code --output ids} prints exactly one stdout line, the generated ids; with f32
 * weights they are llama2.c's greedy ids for stories260K from the llama2.c file and from the Hugging Face directory;
 * {@code --output text} prints the tokenizer's text of the same ids.
 */
class GenerateCommandTest {

    /** Runs the CLI; returns its exit code and its raw stdout. */
    private static String[] tandem(String... args) {
        CliRun.Result r = CliRun.tandem(args);
        return new String[] {String.valueOf(r.code()), r.stdout()};
    }

    private static String join(JsonNode ids) {
        List<String> out = new ArrayList<>();
        ids.forEach(i -> out.add(i.asText()));
        return String.join(",", out);
    }

    @Test
    void idsOutputIsOneLineOfLlama2csGreedyIdsFromBothFormats() throws Exception {
        List<JsonNode> cases = new ArrayList<>();
        new ObjectMapper()
                .readTree(SharedFixtures.require("reference/stories260K-greedy.json")
                        .toFile())
                .get("cases")
                .forEach(cases::add);
        new ObjectMapper()
                .readTree(SharedFixtures.require("reference/stories260K-bos-greedy256.json")
                        .toFile())
                .get("cases")
                .forEach(cases::add);
        List<JsonNode> some = List.of(cases.get(0), cases.get(9), cases.getLast());
        for (String model : List.of("models/stories260K.bin", "models/stories260K-hf")) {
            for (JsonNode c : some) {
                String[] r = tandem(
                        "generate",
                        "--model",
                        SharedFixtures.require(model).toString(),
                        "--prompt-ids",
                        join(c.get("prompt")),
                        "--max-tokens",
                        String.valueOf(c.get("greedy").size()),
                        "--temperature",
                        "0",
                        "--ignore-eos",
                        "--threads",
                        "1",
                        "--output",
                        "ids");
                assertThat(r[0]).isEqualTo("0");
                assertThat(r[1]).as("stdout of " + model).isEqualTo(join(c.get("greedy")) + System.lineSeparator());
            }
        }
    }

    @Test
    void textOutputIsTheTokenizersTextOfTheIds(@TempDir Path dir) throws Exception {
        Path hf = dir.resolve("tiny-llama");
        assertThat(tandem(
                        "write-model",
                        "--model",
                        "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=1000,seq=256,seed=5",
                        "--format",
                        "hf",
                        "--output",
                        hf.toString())[0])
                .isEqualTo("0");
        Files.copy(
                SharedFixtures.require("models/tiny-random-gpt2").resolve("tokenizer.json"),
                hf.resolve("tokenizer.json"));
        String[] common = {
            "generate",
            "--model",
            hf.toString(),
            "--prompt",
            "Hello world",
            "--max-tokens",
            "10",
            "--ignore-eos",
            "--threads",
            "1"
        };
        String[] ids = tandem(concat(common, "--output", "ids"));
        String[] text = tandem(concat(common, "--output", "text"));
        assertThat(ids[0]).isEqualTo("0");
        assertThat(text[0]).isEqualTo("0");
        int[] generated = Arrays.stream(ids[1].strip().split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
        assertThat(generated).hasSize(10);
        String expected = HfTokenizer.load(hf).decode(generated);
        assertThat(text[1]).isEqualTo(expected + System.lineSeparator());
    }

    private static String[] concat(String[] a, String... b) {
        return Arrays.stream(new String[][] {a, b}).flatMap(Arrays::stream).toArray(String[]::new);
    }
}
