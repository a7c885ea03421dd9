package dev.tandem.orchestrator.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MooncakeTraceTest {

    private static final String GOOD =
            "{\"timestamp\": 5, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [7, 8]}";

    @TempDir
    Path dir;

    @Test
    void readsEveryFieldAndOrdersRequestsByTimestamp() throws IOException {
        Path f = Files.write(
                dir.resolve("t.jsonl"),
                List.of(
                        "{\"timestamp\": 20, \"input_length\": 512, \"output_length\": 1, \"hash_ids\": [1]}",
                        "",
                        GOOD,
                        "{\"timestamp\": 9, \"input_length\": 1030, \"output_length\": 9, \"hash_ids\": []}"));
        List<TraceRequest> t = MooncakeTrace.load(f);
        assertThat(t).extracting(TraceRequest::timestampMs).containsExactly(5L, 9L, 20L);
        assertThat(t.getFirst().inputLength()).isEqualTo(600);
        assertThat(t.getFirst().outputLength()).isEqualTo(3);
        assertThat(t.getFirst().hashIds()).containsExactly(7, 8);
        assertThat(t.get(1).hashIds()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 3}",
                "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": 7}",
                "{\"input_length\": 600, \"output_length\": 3, \"hash_ids\": [7]}",
                "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 0, \"hash_ids\": [7]}",
                "{\"timestamp\": 1, \"input_length\": 0, \"output_length\": 3, \"hash_ids\": [7]}",
                "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [7",
                "{\"timestamp\": 1, input_length: 600}",
                "{\"timestamp\": \"soon\", \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [7]}",
                "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [\"x\"]}",
                "[1, 2, 3]",
                "not json at all"
            })
    void aMalformedLineIsRefusedWithItsLineNumber(String bad) throws IOException {
        // Line 4: the blank line 2 counts.
        Path f = Files.write(dir.resolve("t.jsonl"), List.of(GOOD, "", GOOD, bad, GOOD));
        assertThatThrownBy(() -> MooncakeTrace.load(f))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(f + ":4:");
    }
}
