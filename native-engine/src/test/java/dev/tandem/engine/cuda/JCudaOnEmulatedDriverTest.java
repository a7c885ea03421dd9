package dev.tandem.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.testing.RecordingListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real GPU path, JCuda included, on machines without a GPU: a JVM of its own loads a stand-in for the NVIDIA
 * driver ({@code libcuda.so.1} over the emulated device, see {@link EmulatedGpu#fakeDriver}) before JCuda, then
 * runs {@code --engine cuda} as a user would: the provider finds the "GPU", {@link JCudaGpu} loads the PTX that
 * nvcc built and launches the kernels and graphs through JCuda's driver binding, and stories260K comes out
 * token-exact. (Its own JVM, because JCuda binds to the driver once per process and the other tests need it absent.)
 */
class JCudaOnEmulatedDriverTest {

    @Test
    void theCudaEngineThroughJcudaIsTokenExactOnTheEmulatedDriver() throws Exception {
        String out = child(null);
        if (CudaEngineProvider.ptx() == null) {
            assertThat(out).contains("no PTX in this build: cuda refused, naming nvcc");
            return;
        }
        assertThat(out).as(out).contains("stories260K through JCuda: 16/16 token-exact");
        assertThat(out).as(out).containsPattern("copy bandwidth of the emulated device: [0-9.]+ GB/s");
    }

    /** CUDA 13's nvcc writes PTX ISA 9.0; a CUDA 12.4 driver refuses it, and the engine retries as ISA 8.4. */
    @Test
    void anOlderDriverGetsThePtxAsTheIsaItReads() throws Exception {
        String out = child("12040");
        if (CudaEngineProvider.ptx() == null) {
            assertThat(out).contains("no PTX in this build: cuda refused, naming nvcc");
            return;
        }
        assertThat(out).as(out).contains("stories260K through JCuda: 16/16 token-exact");
        assertThat(out).contains("retrying as PTX ISA 8.4");
    }

    /** Runs {@link Child} in its own JVM (on a driver of CUDA version {@code version}, or 13.0); its output. */
    private static String child(String version) throws Exception {
        Path driver = EmulatedGpu.fakeDriver();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Dtandem.shared.dir=" + SharedFixtures.require(".").toAbsolutePath(),
                "-cp",
                System.getProperty("java.class.path"),
                Child.class.getName(),
                driver.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (version != null) {
            pb.environment().put("TANDEM_FAKE_DRIVER_VERSION", version);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    /** The child JVM: the stand-in driver first, then the engine exactly as the CLI creates it. */
    public static final class Child {

        public static void main(String[] args) throws Exception {
            System.load(args[0]);
            CudaEngineProvider provider = new CudaEngineProvider();
            if (CudaEngineProvider.ptx() == null) {
                // A build without nvcc has no kernels: even with a driver and a GPU, cuda must refuse and say why.
                boolean refused =
                        !provider.isAvailable() && provider.unavailableReason().contains("without nvcc");
                System.out.println(refused ? "no PTX in this build: cuda refused, naming nvcc" : "no PTX, not refused");
                System.exit(refused ? 0 : 1);
            }
            if (!provider.isAvailable()) {
                throw new AssertionError("cuda unavailable on the emulated driver: " + provider.unavailableReason());
            }
            EngineConfig config = EngineConfig.builder()
                    .workerId("jcuda")
                    .model(SharedFixtures.require("models/stories260K.bin").toString())
                    .blockSize(16)
                    .kvBlocks(512)
                    .maxNumSeqs(16)
                    .options(Map.of("kv-memory-bytes", String.valueOf(64L << 20)))
                    .build();
            double bandwidth = provider.measureMemoryBandwidth(config).orElseThrow();
            System.out.printf("copy bandwidth of the emulated device: %.1f GB/s%n", bandwidth / 1e9);
            var cases = CudaBackendTest.cases();
            int good = 0;
            try (Engine e = provider.create(config)) {
                List<RecordingListener> ls = new ArrayList<>();
                for (int i = 0; i < cases.size(); i++) {
                    RecordingListener l = new RecordingListener();
                    ls.add(l);
                    e.generate(
                            new GenerateRequest(
                                    "j" + i,
                                    cases.get(i).prompt(),
                                    SamplingParams.GREEDY,
                                    StopConditions.maxTokens(cases.get(i).greedy().length)
                                            .withIgnoreEos(true)),
                            l);
                }
                for (int i = 0; i < cases.size(); i++) {
                    ls.get(i).await(java.time.Duration.ofMinutes(3));
                    good += java.util.Arrays.equals(
                                    ls.get(i).tokens(), cases.get(i).greedy())
                            ? 1
                            : 0;
                }
            }
            System.out.println("stories260K through JCuda: " + good + "/" + cases.size() + " token-exact");
            System.exit(good == cases.size() ? 0 : 1);
        }
    }
}
