package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.orchestrator.cli.BenchEngineCommand.Result;
import dev.tandem.orchestrator.cli.BenchEngineCommand.Trace;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchEngineCommandTest {

    private static final long MS = 1_000_000;

    /** A request submitted at {@code submitted} ms whose tokens arrive one per delta at the given ms. */
    private static Trace trace(long submitted, long... tokenMs) {
        long[] times = new long[tokenMs.length];
        int[] counts = new int[tokenMs.length];
        for (int i = 0; i < tokenMs.length; i++) {
            times[i] = tokenMs[i] * MS;
            counts[i] = 1;
        }
        return new Trace(submitted * MS, times, counts, tokenMs.length);
    }

    @Test
    void decodeIsTimedFromTheLastSequenceToFinishItsWarmupTokens() {
        // Two tokens of warm-up each: the window opens at the later second token (25 ms) and closes at 100 ms; the
        // three tokens after the warm-up of each sequence are measured.
        Trace a = trace(0, 10, 20, 30, 60, 90);
        Trace b = trace(0, 15, 25, 40, 70, 100);
        Result r = BenchEngineCommand.measure(new Trace[] {a, b}, 2);
        assertThat(r.prefillSeconds()).isCloseTo(0.015, within(1e-9));
        assertThat(r.decodeSeconds()).isCloseTo(0.075, within(1e-9));
        assertThat(r.decodedTokens()).isEqualTo(6); // 30, 60, 90, 40, 70, 100
        assertThat(r.ttftMs()).containsExactly(10.0, 15.0);
        assertThat(r.itlMs()).containsExactlyInAnyOrder(10.0, 10.0, 30.0, 30.0, 10.0, 15.0, 30.0, 30.0);
    }

    @Test
    void aDeltaOfSeveralTokensSpreadsItsGapOverThem() {
        Trace t = new Trace(0, new long[] {5 * MS, 25 * MS}, new int[] {1, 4}, 2);
        Result r = BenchEngineCommand.measure(new Trace[] {t}, 0);
        assertThat(r.itlMs()).containsExactly(5.0, 5.0, 5.0, 5.0);
        assertThat(r.decodedTokens()).isEqualTo(4);
    }

    @Test
    void theJsonLineCarriesTheContractFields() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int code;
        try {
            System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
            code = new CommandLine(new TandemCli())
                    .execute(
                            "bench",
                            "engine",
                            "--model",
                            "random:dim=64,hidden=96,layers=2,heads=4,kv_heads=2,vocab=64,seq=128",
                            "--dtype",
                            "int8",
                            "--batch",
                            "2",
                            "--prompt-len",
                            "8",
                            "--gen-len",
                            "8",
                            "--warmup-tokens",
                            "4",
                            "--json");
        } finally {
            System.setOut(saved);
        }
        assertThat(code).isZero();
        String[] lines = buffer.toString(StandardCharsets.UTF_8).strip().split("\n");
        JsonNode o = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertThat(o.get("dtype").asText()).isEqualTo("int8");
        assertThat(o.get("warmup_tokens").asInt()).isEqualTo(4);
        assertThat(o.get("threads").asInt()).isPositive();
        assertThat(o.get("prefill_tok_s").asDouble()).isPositive();
        assertThat(o.get("decode_tok_s").asDouble()).isPositive();
        // int8: one byte per weight plus one f32 scale per group of 32, over every projection and the classifier
        long params = 2L * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 96) + 64 * 64;
        assertThat(o.get("weight_bytes_per_token").asLong()).isEqualTo(params + params / 32 * 4);
        for (String field : new String[] {"ttft_ms", "itl_ms"}) {
            JsonNode d = o.get(field);
            assertThat(d.get("p50").asDouble()).isPositive();
            assertThat(d.get("avg").asDouble()).isPositive();
            assertThat(d.get("p90").asDouble())
                    .isGreaterThanOrEqualTo(d.get("p50").asDouble());
            assertThat(d.get("p99").asDouble())
                    .isGreaterThanOrEqualTo(d.get("p90").asDouble());
        }
    }
}
