package dev.tandem.engine.cuda;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.engine.BuiltinEngine;
import dev.tandem.engine.EngineCore;
import dev.tandem.engine.compute.BackendFactory;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.cpu.NativeEngineProvider;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;
import java.io.IOException;
import java.io.InputStream;

/**
 * {@code --engine cuda}: the built-in engine (scheduler, paged KV cache, sampler) computing on an NVIDIA GPU through
 * JCuda's driver API and the kernels compiled to PTX at build time. Options as {@code native} ({@code dtype}: f32 or
 * bf16; {@code kv-memory-bytes}: default 90% of the device memory left after weights and scratch), plus
 * {@code device} (default 0), {@code graphs} (capture decode steps as CUDA graphs; default true) and
 * {@code tensor-cores} (bf16 products of more than 8 tokens on tensor cores; default false until measured on a GPU).
 *
 * <p>Without a driver, a GPU or the PTX (a build without nvcc) the provider is unavailable with one line that names
 * CUDA; it never falls back to the CPU.
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
        return Probed.DEVICE0.found() && ptx() != null;
    }

    @Override
    public String unavailableReason() {
        CudaProbe.Result r = Probed.DEVICE0;
        if (!r.found()) {
            return r.reason();
        }
        return "CUDA " + r.describe(0) + " found, but this build has no kernels (it was built without nvcc; see"
                + " scripts/build-ptx)";
    }

    /** The kernels' PTX, or null in a build made without nvcc. */
    static byte[] ptx() {
        try (InputStream in = CudaEngineProvider.class.getResourceAsStream("kernels.ptx")) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public Engine create(EngineConfig config) {
        return new BuiltinEngine(config, core(config));
    }

    static EngineCore core(EngineConfig config) {
        if (!isAvailableFor(config)) {
            throw new EngineException(EngineException.Kind.UNAVAILABLE, reasonFor(config));
        }
        String dtype = config.options().getOrDefault("dtype", "f32");
        if (!dtype.equals("f32") && !dtype.equals("bf16")) {
            throw new EngineException(
                    EngineException.Kind.INVALID_REQUEST,
                    "--engine cuda takes f32 or bf16 weights, not '" + dtype + "' (int8 runs on --engine native)");
        }
        boolean graphs = Boolean.parseBoolean(config.options().getOrDefault("graphs", "true"));
        boolean tensorCores = Boolean.parseBoolean(config.options().getOrDefault("tensor-cores", "false"));
        Gpu gpu = new JCudaGpu(device(config), ptx());
        try {
            return NativeEngineProvider.core(config, backends(gpu, graphs, tensorCores));
        } catch (RuntimeException | Error e) {
            gpu.close();
            throw e;
        }
    }

    /** Copies of 1 GiB between two device buffers, timed after a warm-up copy: (read + written bytes) / seconds. */
    @Override
    public java.util.OptionalDouble measureMemoryBandwidth(EngineConfig config) {
        if (!isAvailableFor(config)) {
            return java.util.OptionalDouble.empty();
        }
        try (Gpu gpu = new JCudaGpu(device(config), ptx())) {
            return java.util.OptionalDouble.of(copyBandwidth(gpu, 1L << 30, 10));
        }
    }

    /** Bytes per second of {@code repeats} device-to-device copies of {@code bytes} (read plus written). */
    static double copyBandwidth(Gpu gpu, long bytes, int repeats) {
        long a = gpu.alloc(bytes);
        long b = gpu.alloc(bytes);
        try {
            gpu.copy(b, a, bytes);
            gpu.synchronize();
            long t0 = System.nanoTime();
            for (int i = 0; i < repeats; i++) {
                gpu.copy(i % 2 == 0 ? b : a, i % 2 == 0 ? a : b, bytes);
            }
            gpu.synchronize();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return 2.0 * bytes * repeats / seconds;
        } finally {
            gpu.free(a);
            gpu.free(b);
        }
    }

    private static int device(EngineConfig config) {
        String d = config.options().getOrDefault("device", "0");
        try {
            return Integer.parseInt(d);
        } catch (NumberFormatException e) {
            throw new EngineException(
                    EngineException.Kind.INVALID_REQUEST, "--device must be a GPU index, not '" + d + "'");
        }
    }

    private static boolean isAvailableFor(EngineConfig config) {
        return CudaProbe.probe(device(config)).found() && ptx() != null;
    }

    private static String reasonFor(EngineConfig config) {
        CudaProbe.Result r = CudaProbe.probe(device(config));
        return r.found() ? new CudaEngineProvider().unavailableReason() : r.reason();
    }

    /** The cuda backend on {@code gpu}: weights, scratch and KV cache in its memory; CUDA-core products. */
    public static BackendFactory backends(Gpu gpu, boolean graphs) {
        return backends(gpu, graphs, false);
    }

    /** The cuda backend on {@code gpu}, with bf16 products of more than 8 tokens on tensor cores or not. */
    public static BackendFactory backends(Gpu gpu, boolean graphs, boolean tensorCores) {
        return new BackendFactory() {
            @Override
            public long defaultKvBytes(EngineConfig config, LlamaConfig model, LlamaWeights weights) {
                long weightBytes = weights.bytesReadPerStep()
                        + (weights.classifier() == weights.embedding()
                                ? 0
                                : weights.embedding().bytes());
                long scratch = CudaComputeBackend.scratchBytes(
                        model, config.maxNumBatchedTokens(), config.maxNumSeqs(), config.blockSize());
                long left = gpu.freeMemory() - weightBytes - scratch - (512L << 20);
                return Math.max(bytesPerBlock(model, config.blockSize()) * 2, left / 10 * 9);
            }

            @Override
            public long bytesPerBlock(LlamaConfig model, int blockSize) {
                return 2L * model.layers() * blockSize * model.kvDim() * Float.BYTES;
            }

            @Override
            public int maxContext(LlamaConfig model) {
                return Math.min(model.contextLength(), CudaComputeBackend.maxContext(model.headDim()));
            }

            @Override
            public ComputeBackend create(EngineConfig config, LlamaConfig model, LlamaWeights weights, int blocks) {
                return new CudaComputeBackend(
                        model,
                        weights,
                        gpu,
                        blocks,
                        config.blockSize(),
                        config.maxNumBatchedTokens(),
                        config.maxNumSeqs(),
                        graphs,
                        tensorCores);
            }
        };
    }
}
