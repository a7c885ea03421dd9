package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Engines;
import org.junit.jupiter.api.Test;

/**
 * The cuda provider on a machine without a GPU (the build machines): found by name, unavailable with one line that
 * names CUDA, and never a crash; and the PTX holds every kernel wherever nvcc built it.
 */
class CudaEngineProviderTest {

    @Test
    void theCudaEngineIsFoundByNameAndRefusesWithOneLineThatNamesCudaWhereThereIsNoGpu() {
        if (CudaProbe.probe(0).found()) {
            assertThat(Engines.provider("cuda").name()).isEqualTo("cuda");
            return;
        }
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

    /** Every kernel kernels.cu defines (the emulated tests run the same list). */
    private static java.util.List<String> kernelNames() throws java.io.IOException {
        String source = java.nio.file.Files.readString(java.nio.file.Path.of("src/main/cuda/kernels.cu"));
        var m = java.util.regex.Pattern.compile("extern \"C\" __global__ void (\\w+)")
                .matcher(source);
        java.util.List<String> names = new java.util.ArrayList<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        assertThat(names).contains("gemm_f32", "gemv_bf16", "attention", "argmax_rows");
        return names;
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
                for (String kernel : kernelNames()) {
                    assertThat(ptx).contains(".entry " + kernel);
                }
            } else {
                assertThat(in).as("no nvcc, no PTX").isNull();
            }
        }
    }

    @Test
    void kernelsBuiltByANewerToolkitAreOfferedToAnOlderDriverAsThePtxIsaItReads() {
        assertThat(JCudaGpu.ptxIsaOf(13000)).isEqualTo("9.0");
        assertThat(JCudaGpu.ptxIsaOf(12040)).isEqualTo("8.4");
        assertThat(JCudaGpu.ptxIsaOf(12060)).isEqualTo("8.5");
        assertThat(JCudaGpu.ptxIsaOf(12080)).isEqualTo("8.7");
        assertThat(JCudaGpu.ptxIsaOf(12090)).isEqualTo("8.8");
        assertThat(JCudaGpu.ptxIsaOf(11080)).isEqualTo("7.8");
    }
}
