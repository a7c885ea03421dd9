package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The engine flags of serve and worker as engine options: --dtype and --device for the built-in engines. */
class EngineOptionsTest {

    private static EngineOptions options(String dtype, Integer device) {
        EngineOptions o = new EngineOptions();
        o.dtype = dtype;
        o.device = device;
        return o;
    }

    @Test
    void cudaTakesTheDtypeAndDeviceAndGivesEachWorkerItsOwnGpu() {
        EngineOptions o = options("bf16", 2);
        assertThat(o.common("cuda")).containsEntry("dtype", "bf16").containsEntry("device", "2");
        assertThat(o.perWorker("cuda", 3))
                .containsExactly(Map.of("device", "2"), Map.of("device", "3"), Map.of("device", "4"));
        assertThat(o.perWorker("cuda", 1)).isEmpty();
        assertThat(options("f32", null).perWorker("cuda", 2))
                .containsExactly(Map.of("device", "0"), Map.of("device", "1"));
    }

    @Test
    void deviceIsRefusedForOtherEnginesAndNegativeIndexes() {
        assertThatThrownBy(() -> options("f32", 1).common("native"))
                .hasMessageContaining("--device applies to --engine cuda");
        assertThatThrownBy(() -> options("f32", -1).common("cuda")).hasMessageContaining("GPU index");
        assertThatThrownBy(() -> options("bf16", null).common("vllm")).hasMessageContaining("--dtype applies to");
        assertThat(options("int8", null).common("native")).containsEntry("dtype", "int8");
        assertThat(options("f32", null).perWorker("native", 2)).isEqualTo(List.of());
    }
}
