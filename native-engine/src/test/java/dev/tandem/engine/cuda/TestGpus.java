package dev.tandem.engine.cuda;

/**
 * The device the cuda tests run on: the emulated one on the build machines; a real GPU (device 0) when the system
 * property {@code tandem.test.gpu} is {@code cuda}, as {@code scripts/gpu-check} runs them. The same assertions hold
 * for both.
 */
public final class TestGpus {

    private TestGpus() {}

    public static boolean real() {
        return "cuda".equals(System.getProperty("tandem.test.gpu"));
    }

    public static Gpu create() {
        if (real()) {
            byte[] ptx = CudaEngineProvider.ptx();
            if (ptx == null) {
                throw new IllegalStateException("tandem.test.gpu=cuda, but this build has no kernels.ptx");
            }
            return new JCudaGpu(0, ptx);
        }
        return new EmulatedGpu();
    }
}
