package dev.tandem.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

/**
 * A real GPU through JCuda's binding of the CUDA driver API (only {@code libcuda.so.1} is needed): the device's
 * primary context, one stream for every operation, the kernels loaded from PTX with {@code cuModuleLoadData}.
 * Callable from any thread (the context is made current on each).
 */
final class JCudaGpu implements Gpu {

    private final int index;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, Integer> sharedLimits = new HashMap<>();
    /** Live allocations by base address: copies need the driver's pointer object, kernels only the address. */
    private final TreeMap<Long, Allocation> allocations = new TreeMap<>();

    private final String description;
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

    /** A {@link CUdeviceptr} that tells its address (the driver fills it in {@code cuMemAlloc}). */
    private static final class Allocation extends CUdeviceptr {
        long bytes;

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    JCudaGpu(int index, byte[] ptx) {
        this.index = index;
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        JCudaDriver.cuDeviceGet(device, index);
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        current.set(true);
        JCudaDriver.cuStreamCreate(stream, 0);
        loadModule(ptx);
        // Every kernel resolved now: nothing but launches happens while a graph is captured.
        java.util.regex.Matcher entries =
                java.util.regex.Pattern.compile("\\.entry (\\w+)").matcher(new String(ptx, StandardCharsets.US_ASCII));
        while (entries.find()) {
            function(entries.group(1), 0);
        }
        CudaProbe.Result probe = CudaProbe.probe(index);
        this.description = probe.found() ? probe.describe(index) : "device " + index;
    }

    /**
     * Loads the PTX; a driver older than the toolkit that wrote it refuses the PTX ISA version, so the module is
     * retried with the version line lowered to what the driver reads (the kernels use nothing newer than ISA 7.0).
     */
    private void loadModule(byte[] ptx) {
        try {
            JCudaDriver.cuModuleLoadData(module, terminated(ptx));
        } catch (CudaException e) {
            int[] version = new int[1];
            JCudaDriver.cuDriverGetVersion(version);
            String text = new String(ptx, StandardCharsets.US_ASCII);
            String lowered = text.replaceFirst("(?m)^\\.version \\d+\\.\\d+", ".version " + ptxIsaOf(version[0]));
            if (lowered.equals(text)) {
                throw e;
            }
            System.getLogger(JCudaGpu.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "CUDA: the driver (" + version[0] + ") refused the kernels' PTX (" + e.getMessage()
                                    + "); retrying as PTX ISA " + ptxIsaOf(version[0]));
            JCudaDriver.cuModuleLoadData(module, terminated(lowered.getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /**
     * The newest PTX ISA a driver of CUDA version {@code v} (e.g. 12040 for 12.4) reads, from NVIDIA's PTX ISA release
     * history: 11.x reads 7.x, 12.0 to 12.5 read 8.0 to 8.5, 12.6 reads 8.5, 12.8 reads 8.7, 12.9 reads 8.8.
     */
    static String ptxIsaOf(int v) {
        int major = v / 1000;
        int minor = v % 1000 / 10;
        if (major >= 13) {
            return "9.0";
        }
        if (major == 12) {
            return "8." + (minor <= 5 ? minor : minor <= 7 ? 5 + (minor - 6) : Math.min(8, minor - 1));
        }
        return "7." + Math.min(minor, 8);
    }

    private static byte[] terminated(byte[] ptx) {
        byte[] z = java.util.Arrays.copyOf(ptx, ptx.length + 1);
        z[ptx.length] = 0;
        return z;
    }

    private void bind() {
        if (!current.get()) {
            JCudaDriver.cuCtxSetCurrent(context);
            current.set(true);
        }
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public long totalMemory() {
        long[] free = new long[1];
        long[] total = new long[1];
        bind();
        JCudaDriver.cuMemGetInfo(free, total);
        return total[0];
    }

    @Override
    public long freeMemory() {
        long[] free = new long[1];
        long[] total = new long[1];
        bind();
        JCudaDriver.cuMemGetInfo(free, total);
        return free[0];
    }

    @Override
    public synchronized long alloc(long bytes) {
        bind();
        Allocation a = new Allocation();
        try {
            JCudaDriver.cuMemAlloc(a, Math.max(256, bytes));
        } catch (CudaException e) {
            throw new OutOfMemoryError(
                    "CUDA: could not allocate " + bytes + " bytes on device " + index + " (" + e.getMessage() + ")");
        }
        a.bytes = bytes;
        allocations.put(a.address(), a);
        return a.address();
    }

    @Override
    public synchronized void free(long address) {
        bind();
        Allocation a = allocations.remove(address);
        if (a != null) {
            JCudaDriver.cuMemFree(a);
        }
    }

    /** The driver pointer for {@code address}, inside one of this device's allocations. */
    private synchronized CUdeviceptr pointer(long address, long bytes) {
        var e = allocations.floorEntry(address);
        if (e == null || address + bytes > e.getKey() + Math.max(256, e.getValue().bytes)) {
            throw new IllegalArgumentException(
                    "CUDA: " + bytes + " bytes at 0x" + Long.toHexString(address) + " are not inside one allocation");
        }
        return e.getValue().withByteOffset(address - e.getKey());
    }

    /** The segment as a pointer the driver reads: native segments directly, heap ones through a copy. */
    private static Pointer host(MemorySegment s) {
        if (s.isNative()) {
            return Pointer.to(s.asByteBuffer());
        }
        java.nio.ByteBuffer direct =
                java.nio.ByteBuffer.allocateDirect((int) s.byteSize()).order(java.nio.ByteOrder.nativeOrder());
        MemorySegment.ofBuffer(direct).copyFrom(s);
        return Pointer.to(direct);
    }

    @Override
    public void upload(long dst, MemorySegment src) {
        bind();
        JCudaDriver.cuMemcpyHtoDAsync(pointer(dst, src.byteSize()), host(src), src.byteSize(), stream);
        // The driver may read pageable memory after returning; the segment may be reused by the caller at once.
        JCudaDriver.cuStreamSynchronize(stream);
    }

    @Override
    public void download(MemorySegment dst, long src) {
        bind();
        if (dst.isNative()) {
            JCudaDriver.cuMemcpyDtoHAsync(
                    Pointer.to(dst.asByteBuffer()), pointer(src, dst.byteSize()), dst.byteSize(), stream);
            JCudaDriver.cuStreamSynchronize(stream);
            return;
        }
        java.nio.ByteBuffer direct =
                java.nio.ByteBuffer.allocateDirect((int) dst.byteSize()).order(java.nio.ByteOrder.nativeOrder());
        JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(direct), pointer(src, dst.byteSize()), dst.byteSize(), stream);
        JCudaDriver.cuStreamSynchronize(stream);
        dst.copyFrom(MemorySegment.ofBuffer(direct));
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        bind();
        JCudaDriver.cuMemcpyDtoDAsync(pointer(dst, bytes), pointer(src, bytes), bytes, stream);
    }

    @Override
    public void zero(long dst, long bytes) {
        bind();
        JCudaDriver.cuMemsetD8Async(pointer(dst, bytes), (byte) 0, bytes, stream);
    }

    private synchronized CUfunction function(String name, int sharedBytes) {
        CUfunction f = functions.get(name);
        if (f == null) {
            f = new CUfunction();
            JCudaDriver.cuModuleGetFunction(f, module, name);
            functions.put(name, f);
        }
        // More than 48 KiB of dynamic shared memory is an opt-in per function.
        if (sharedBytes > 48 * 1024 && sharedLimits.getOrDefault(name, 0) < sharedBytes) {
            JCudaDriver.cuFuncSetAttribute(
                    f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
            sharedLimits.put(name, sharedBytes);
        }
        return f;
    }

    @Override
    public void launch(String name, int gridX, int gridY, int block, int sharedBytes, Object... args) {
        bind();
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case Long address -> Pointer.to(new long[] {address});
                case Integer v -> Pointer.to(new int[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException(name + ": argument " + i + " is a " + args[i].getClass());
            };
        }
        JCudaDriver.cuLaunchKernel(
                function(name, sharedBytes),
                gridX,
                gridY,
                1,
                block,
                1,
                1,
                sharedBytes,
                stream,
                Pointer.to(params),
                null);
    }

    @Override
    public void synchronize() {
        bind();
        JCudaDriver.cuStreamSynchronize(stream);
    }

    @Override
    public Graph capture(Runnable body) {
        bind();
        CUgraph graph = new CUgraph();
        JCudaDriver.cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
        try {
            body.run();
        } finally {
            JCudaDriver.cuStreamEndCapture(stream, graph);
        }
        CUgraphExec exec = new CUgraphExec();
        JCudaDriver.cuGraphInstantiate(exec, graph, 0);
        return new Graph() {
            @Override
            public void launch() {
                bind();
                JCudaDriver.cuGraphLaunch(exec, stream);
            }

            @Override
            public void close() {
                bind();
                JCudaDriver.cuGraphExecDestroy(exec);
                JCudaDriver.cuGraphDestroy(graph);
            }
        };
    }

    @Override
    public synchronized void close() {
        bind();
        JCudaDriver.cuStreamSynchronize(stream);
        for (Allocation a : allocations.values()) {
            JCudaDriver.cuMemFree(a);
        }
        allocations.clear();
        JCudaDriver.cuModuleUnload(module);
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
