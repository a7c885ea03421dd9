package dev.tandem.engine.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Runs the cuda tests (kernels, the whole backend against llama2.c and the CPU engine, the benchmark's arithmetic)
 * outside Maven, for {@code scripts/gpu-check} on a GPU machine: one line per test, then the failures, and exit
 * status 0 only when all passed. With {@code -Dtandem.test.gpu=cuda} they run on the GPU (see {@link TestGpus}).
 */
public final class GpuCheckTests {

    private GpuCheckTests() {}

    public static void main(String[] args) {
        var request = LauncherDiscoveryRequestBuilder.request()
                .selectors(
                        selectClass(CudaKernelsTest.class),
                        selectClass(CudaBackendTest.class),
                        selectClass(GpuBenchTest.class))
                .build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener lines = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest()) {
                    System.out.printf("%-7s %s%n", result.getStatus(), id.getDisplayName());
                }
            }
        };
        LauncherFactory.create().execute(request, summary, lines);
        var s = summary.getSummary();
        s.printFailuresTo(new PrintWriter(System.out, true), 12);
        System.out.printf(
                "cuda tests on %s: %d passed, %d failed%n",
                TestGpus.real() ? "the GPU" : "the emulated device",
                s.getTestsSucceededCount(),
                s.getTotalFailureCount());
        System.exit(s.getTotalFailureCount() == 0 && s.getTestsSucceededCount() > 0 ? 0 : 1);
    }
}
