package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.engine.BuiltinEngine;
import dev.tandem.engine.cpu.NativeEngineProvider;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The GPU benchmark's measurement on a small model: every figure present and consistent with the others. */
class GpuBenchTest {

    @Test
    void theBenchmarkReportsPrefillDecodeAndTheRooflineFromTheGivenBandwidth() throws Exception {
        EngineConfig config = EngineConfig.builder()
                .workerId("bench")
                .model("random:dim=64,hidden=128,layers=2,heads=4,kv_heads=2,vocab=256,seq=256,seed=3")
                .blockSize(16)
                .maxNumSeqs(4)
                .options(Map.of("dtype", "bf16"))
                .build();
        try (Engine e = new BuiltinEngine(
                config, NativeEngineProvider.core(config, CudaEngineProvider.backends(TestGpus.create(), true)))) {
            var json = new ObjectMapper().readTree(GpuBench.measure(e, 1e9, "tiny", "bf16", 40, 6, 4, 0.5));
            long weightBytes = e.info().weightBytesPerToken();
            assertThat(json.get("weight_bytes_per_token").asLong()).isEqualTo(weightBytes);
            assertThat(json.get("roofline_tok_s").asDouble())
                    .isCloseTo(1e9 / weightBytes, org.assertj.core.data.Offset.offset(0.1));
            assertThat(json.get("prefill_tok_s").asDouble()).isPositive();
            assertThat(json.get("decode_tok_s").asDouble()).isPositive();
            assertThat(json.get("batch_decode_tok_s").asDouble()).isPositive();
            assertThat(json.get("decode_roofline_fraction").asDouble())
                    .isCloseTo(
                            json.get("decode_tok_s").asDouble()
                                    / json.get("roofline_tok_s").asDouble(),
                            org.assertj.core.data.Offset.offset(0.01));
        }
    }
}
