package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Engines;
import org.junit.jupiter.api.Test;

/**
 * The cuda provider on whatever machine runs the tests: found by name, unavailable (no driver or GPU, or a GPU
 * without the forward pass that is not built yet) with one line that names CUDA, and never a crash.
 */
class CudaEngineProviderTest {

    @Test
    void theCudaEngineIsFoundByNameAndRefusesWithOneLineThatNamesCuda() {
        assertThatThrownBy(() -> Engines.provider("cuda"))
                .isInstanceOf(EngineException.class)
                .satisfies(e -> {
                    String m = e.getMessage();
                    assertThat(m).contains("engine 'cuda' is not available here: CUDA");
                    assertThat(m).doesNotContain("\n").doesNotContain("Exception");
                });
    }

    @Test
    void theProbeSaysWhyThereIsNoDeviceOrDescribesTheOneThereIs() {
        CudaProbe.Result r = CudaProbe.probe(0);
        if (r.found()) {
            assertThat(r.device()).isNotBlank();
            assertThat(r.memoryBytes()).isPositive();
            assertThat(r.describe(0)).startsWith("device 0: ");
        } else {
            assertThat(r.reason()).startsWith("CUDA: ").doesNotContain("\n");
        }
        CudaProbe.Result far = CudaProbe.probe(4096);
        assertThat(far.found()).isFalse();
        assertThat(far.reason()).startsWith("CUDA: ");
    }

    /** Where nvcc is installed the build must have compiled the kernels; without it, there is nothing to check. */
    @Test
    void theKernelsAreCompiledToPtxWhereverNvccIsInstalled() throws Exception {
        boolean nvcc = java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/local/cuda/bin/nvcc"))
                || java.util.Arrays.stream(
                                System.getenv().getOrDefault("PATH", "").split(":"))
                        .anyMatch(d -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, "nvcc")));
        try (var in = CudaEngineProvider.class.getResourceAsStream("kernels.ptx")) {
            if (nvcc) {
                assertThat(in).as("kernels.ptx built by scripts/build-ptx").isNotNull();
                String ptx = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                for (String kernel :
                        new String[] {"matvec_f32", "matvec_bf16", "rmsnorm_f32", "rope_f32", "swiglu_f32", "argmax_f32"
                        }) {
                    assertThat(ptx).contains(".entry " + kernel);
                }
            } else {
                assertThat(in).as("no nvcc, no PTX").isNull();
            }
        }
    }
}
