package dev.tandem.engine.cuda;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineProvider;

/**
 * {@code --engine cuda}: the built-in engine on an NVIDIA GPU through JCuda's driver API. What is built so far is the
 * device probe: without a driver or a GPU the provider is unavailable with a one-line reason that names CUDA, and
 * nothing else changes. The GPU forward pass (kernels, device KV cache) is not built yet, so on a machine with a GPU
 * the provider is unavailable too and says that, rather than failing later or falling back to the CPU silently.
 */
public final class CudaEngineProvider implements EngineProvider {

    /** The probe of device 0, once per process (loading the driver library is not free). */
    private static final class Probed {
        static final CudaProbe.Result DEVICE0 = CudaProbe.probe(0);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public boolean isAvailable() {
        return false;
    }

    @Override
    public String unavailableReason() {
        CudaProbe.Result r = Probed.DEVICE0;
        if (!r.found()) {
            return r.reason();
        }
        return "CUDA " + r.describe(0) + " found, but the GPU forward pass is not built yet; use --engine native";
    }

    @Override
    public Engine create(EngineConfig config) {
        throw new EngineException(EngineException.Kind.UNAVAILABLE, unavailableReason());
    }
}
