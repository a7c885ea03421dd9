package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteModelCommandTest {

    private static final String SHAPE = "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=80,seq=64,seed=11";

    /** Runs the CLI; returns its exit code and stdout (stripped). */
    private static String[] tandem(String... args) {
        CliRun.Result r = CliRun.tandem(args);
        return new String[] {String.valueOf(r.code()), r.stdout().strip()};
    }

    private static String greedyIds(String model) {
        String[] r = tandem(
                "generate",
                "--model",
                model,
                "--prompt-ids",
                "3,14,15,9,2",
                "--max-tokens",
                "12",
                "--temperature",
                "0",
                "--ignore-eos",
                "--output",
                "ids");
        assertThat(r[0]).isEqualTo("0");
        return r[1];
    }

    @Test
    void aRandomModelWrittenInBothFormatsGeneratesWhatTheRandomModelGenerates(@TempDir Path dir) throws Exception {
        Path bin = dir.resolve("model.bin");
        Path hf = dir.resolve("model-hf");
        assertThat(tandem("write-model", "--model", SHAPE, "--format", "llama2c", "--output", bin.toString())[0])
                .isEqualTo("0");
        assertThat(tandem("write-model", "--model", SHAPE, "--format", "hf", "--output", hf.toString())[0])
                .isEqualTo("0");
        assertThat(bin).isRegularFile();
        assertThat(hf.resolve("config.json")).isRegularFile();
        assertThat(hf.resolve("model.safetensors")).isRegularFile();

        String expected = greedyIds(SHAPE);
        assertThat(expected.split(",")).hasSize(12);
        assertThat(greedyIds(bin.toString())).isEqualTo(expected);
        assertThat(greedyIds(hf.toString())).isEqualTo(expected);
    }

    @Test
    void aShardedHalfPrecisionDirectoryLoadsAndGenerates(@TempDir Path dir) throws Exception {
        Path hf = dir.resolve("bf16");
        assertThat(tandem(
                        "write-model",
                        "--model",
                        SHAPE,
                        "--format",
                        "hf",
                        "--dtype",
                        "bf16",
                        "--shards",
                        "2",
                        "--output",
                        hf.toString())[0])
                .isEqualTo("0");
        assertThat(hf.resolve("model-00001-of-00002.safetensors")).isRegularFile();
        assertThat(hf.resolve("model-00002-of-00002.safetensors")).isRegularFile();
        assertThat(Files.readString(hf.resolve("model.safetensors.index.json"))).contains("weight_map");
        assertThat(Files.readString(hf.resolve("config.json"))).contains("bfloat16");
        assertThat(greedyIds(hf.toString()).split(",")).hasSize(12);
    }

    @Test
    void forcingANewModelIntoAnHfDirectoryReplacesTheOldWeightFiles(@TempDir Path dir) throws Exception {
        Path hf = dir.resolve("hf");
        String other = SHAPE.replace("seed=11", "seed=12");
        assertThat(tandem(
                        "write-model", "--model", SHAPE, "--format", "hf", "--shards", "3", "--output", hf.toString())[
                        0])
                .isEqualTo("0");
        assertThat(tandem("write-model", "--model", other, "--format", "hf", "--force", "--output", hf.toString())[0])
                .isEqualTo("0");
        try (var files = Files.list(hf)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("config.json", "model.safetensors");
        }
        assertThat(greedyIds(hf.toString())).isEqualTo(greedyIds(other)).isNotEqualTo(greedyIds(SHAPE));
    }

    @Test
    void aStaleShardNextToANewFileIsAnErrorNotASilentChoice(@TempDir Path dir) throws Exception {
        Path hf = dir.resolve("hf");
        Path shards = dir.resolve("shards");
        assertThat(tandem("write-model", "--model", SHAPE, "--format", "hf", "--output", hf.toString())[0])
                .isEqualTo("0");
        assertThat(tandem(
                        "write-model",
                        "--model",
                        SHAPE,
                        "--format",
                        "hf",
                        "--shards",
                        "2",
                        "--output",
                        shards.toString())[0])
                .isEqualTo("0");
        Files.copy(shards.resolve("model-00001-of-00002.safetensors"), hf.resolve("model-00001-of-00002.safetensors"));
        String[] r = tandem(
                "generate", "--model", hf.toString(), "--prompt-ids", "1", "--max-tokens", "2", "--output", "ids");
        assertThat(r[0]).isNotEqualTo("0");
    }

    @Test
    void randomShapesWithUnknownKeysOrUnevenHeadsAreRejected(@TempDir Path dir) {
        for (String bad : new String[] {
            "random:dim=64,hidden=96,layers=2,heads=4,kv_head=2,vocab=80,seq=64",
            "random:dim=66,hidden=96,layers=2,heads=4,vocab=80,seq=64",
            "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=3,vocab=80,seq=64"
        }) {
            assertThat(tandem(
                            "write-model",
                            "--model",
                            bad,
                            "--format",
                            "llama2c",
                            "--output",
                            dir.resolve("m.bin").toString())[0])
                    .as(bad)
                    .isNotEqualTo("0");
        }
        assertThat(dir.resolve("m.bin")).doesNotExist();
    }

    @Test
    void optionsThatTheFormatCannotHonourAreRejected(@TempDir Path dir) {
        Path bin = dir.resolve("m.bin");
        assertThat(tandem(
                        "write-model",
                        "--model",
                        SHAPE,
                        "--format",
                        "llama2c",
                        "--dtype",
                        "bf16",
                        "--output",
                        bin.toString())[0])
                .isNotEqualTo("0");
        assertThat(bin).doesNotExist();
        assertThat(tandem(
                        "write-model",
                        "--model",
                        SHAPE,
                        "--format",
                        "hf",
                        "--dtype",
                        "fp8",
                        "--output",
                        dir.resolve("x").toString())[0])
                .isNotEqualTo("0");
    }

    @Test
    void anExistingOutputIsKeptUnlessForced(@TempDir Path dir) throws Exception {
        Path bin = dir.resolve("model.bin");
        Files.writeString(bin, "precious");
        assertThat(tandem("write-model", "--model", SHAPE, "--format", "llama2c", "--output", bin.toString())[0])
                .isNotEqualTo("0");
        assertThat(Files.readString(bin)).isEqualTo("precious");
        assertThat(tandem(
                        "write-model", "--model", SHAPE, "--format", "llama2c", "--output", bin.toString(), "--force")[
                        0])
                .isEqualTo("0");
        assertThat(Files.size(bin)).isGreaterThan(1000);
    }
}
