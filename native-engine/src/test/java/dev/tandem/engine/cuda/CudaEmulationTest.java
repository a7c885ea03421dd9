package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The emulated device itself: it refuses what a GPU would leave undefined, rather than hiding it. */
class CudaEmulationTest {

    @Test
    void aLaunchOfAnUnknownKernelOrAnOversizedBlockFailsWithItsReason() {
        try (EmulatedGpu gpu = new EmulatedGpu()) {
            assertThatThrownBy(() -> gpu.launch("no_such_kernel", 1, 1, 32, 0)).hasMessageContaining("no kernel named");
            assertThatThrownBy(() -> gpu.launch("add_bias_rows", 1, 1, 2048, 0, 0L, 0L, 1, 0))
                    .hasMessageContaining("invalid launch");
            assertThatThrownBy(() -> gpu.upload(gpu.alloc(8), MemorySegment.ofArray(new float[3])))
                    .hasMessageContaining("not inside one allocation");
        }
    }

    @Test
    void theEmulationRefusesAFullWarpShuffleInAnIncompleteWarp() {
        // 48 threads: the second warp has 16 lanes, so its full-mask reduction reads lanes that do not exist. On a
        // GPU the values are undefined; emulated, the launch fails and says why.
        try (EmulatedGpu gpu = new EmulatedGpu()) {
            long out = gpu.alloc(4);
            long x = gpu.alloc(4);
            gpu.upload(x, MemorySegment.ofArray(new float[] {1}));
            assertThatThrownBy(() -> gpu.launch("rmsnorm_rows", 1, 1, 48, 0, out, x, x, 1, 1e-5f))
                    .hasMessageContaining("last warp has 16 threads");
        }
    }
}
