package dev.tandem.engine.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cuda backend's device, emulated on the CPU for machines without a GPU: {@code kernels.cu} itself compiled by
 * g++ against {@code src/test/cuda-emu} (fibers for threads, barriers for {@code __syncthreads} and shuffles), called
 * through the FFM API. Memory is host memory; a graph records launches without running them and replays them, as a
 * CUDA graph does. Copies are checked against the allocations, so the host code's sizes are tested too.
 *
 * <p>The library is built once per build into {@code target/cuda-emu}; without g++ the tests that need it fail
 * with that reason (they do not skip).
 */
final class EmulatedGpu implements Gpu {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle ALLOC;
    private static final MethodHandle FREE;
    private static final MethodHandle LAUNCH;
    private static final MethodHandle ERROR;
    private static final MethodHandle PARAMS;

    static {
        SymbolLookup lib = SymbolLookup.libraryLookup(library(), Arena.global());
        ALLOC = LINKER.downcallHandle(
                lib.find("emu_alloc").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        FREE = LINKER.downcallHandle(
                lib.find("emu_free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        ValueLayout i = ValueLayout.JAVA_INT;
        LAUNCH = LINKER.downcallHandle(
                lib.find("emu_launch").orElseThrow(),
                FunctionDescriptor.of(i, ValueLayout.ADDRESS, i, i, i, i, i, i, i, ValueLayout.ADDRESS));
        ERROR = LINKER.downcallHandle(lib.find("emu_error").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS));
        PARAMS = LINKER.downcallHandle(
                lib.find("emu_params").orElseThrow(),
                FunctionDescriptor.of(i, ValueLayout.ADDRESS, ValueLayout.ADDRESS, i));
    }

    /** Builds (when its sources are newer) and returns the emulation library. */
    static Path library() {
        return build("libkernels-emu.so", false);
    }

    /**
     * Builds (when its sources are newer) and returns a stand-in for the NVIDIA driver, {@code libcuda.so.1} over the
     * same emulation ({@code fake_libcuda.cpp}): loaded before JCuda, it lets {@link JCudaGpu} run for real.
     */
    static Path fakeDriver() {
        return build("driver/libcuda.so.1", true);
    }

    private static synchronized Path build(String name, boolean driver) {
        Path root = Path.of("").toAbsolutePath();
        Path kernels = root.resolve("src/main/cuda/kernels.cu");
        Path emu = root.resolve("src/test/cuda-emu");
        Path out = root.resolve("target/cuda-emu");
        Path lib = out.resolve(name);
        try {
            long newest = Files.getLastModifiedTime(kernels).toMillis();
            for (String f : new String[] {"emu.cpp", "cuda_emu.h", "fake_libcuda.cpp"}) {
                newest = Math.max(
                        newest, Files.getLastModifiedTime(emu.resolve(f)).toMillis());
            }
            if (Files.exists(lib) && Files.getLastModifiedTime(lib).toMillis() >= newest) {
                return lib;
            }
            Files.createDirectories(lib.getParent());
            StringBuilder table = new StringBuilder();
            Matcher m = Pattern.compile("extern \"C\" __global__ void (\\w+)").matcher(Files.readString(kernels));
            while (m.find()) {
                table.append("X(").append(m.group(1)).append(")\n");
            }
            Files.writeString(out.resolve("kernel_table.inc"), table);
            List<String> command = new ArrayList<>(List.of(
                    "g++",
                    "-O2",
                    "-std=c++17",
                    "-ffp-contract=off",
                    "-U_FORTIFY_SOURCE",
                    "-Wno-unknown-pragmas",
                    "-shared",
                    "-fPIC",
                    "-I" + out,
                    "-I" + emu,
                    "-DKERNELS_CU=\"" + kernels + "\"",
                    "-o",
                    lib.toString(),
                    emu.resolve("emu.cpp").toString()));
            if (driver) {
                command.add(emu.resolve("fake_libcuda.cpp").toString());
                command.add("-Wl,-soname,libcuda.so.1");
            }
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException("g++ could not build the cuda emulation:\n" + log);
            }
            return lib;
        } catch (IOException e) {
            throw new IllegalStateException(
                    "the cuda emulation needs g++ (apt-get install g++) and the kernel sources: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private final TreeMap<Long, Long> allocations = new TreeMap<>();
    private long allocated;
    private List<Runnable> recording;
    private final java.util.Map<String, Integer> launched = new java.util.concurrent.ConcurrentHashMap<>();

    /** How many times kernel {@code name} has run (graph replays included). */
    int launched(String name) {
        return launched.getOrDefault(name, 0);
    }

    @Override
    public String describe() {
        return "emulated device (kernels.cu on the CPU)";
    }

    @Override
    public long totalMemory() {
        return 4L << 30;
    }

    @Override
    public synchronized long freeMemory() {
        return totalMemory() - allocated;
    }

    @Override
    public synchronized long alloc(long bytes) {
        if (allocated + bytes > totalMemory()) {
            throw new OutOfMemoryError("emulated device: " + bytes + " bytes do not fit");
        }
        try {
            long a = ((MemorySegment) ALLOC.invokeExact(bytes)).address();
            if (a == 0) {
                throw new OutOfMemoryError("emulated device: no host memory for " + bytes + " bytes");
            }
            allocations.put(a, bytes);
            allocated += bytes;
            return a;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized void free(long address) {
        Long bytes = allocations.remove(address);
        if (bytes != null) {
            allocated -= bytes;
            try {
                FREE.invokeExact(MemorySegment.ofAddress(address));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** The device bytes at [address, address + bytes), which must lie inside one allocation. */
    private synchronized MemorySegment device(long address, long bytes) {
        var e = allocations.floorEntry(address);
        if (e == null || address + bytes > e.getKey() + e.getValue()) {
            throw new IllegalArgumentException(
                    bytes + " bytes at 0x" + Long.toHexString(address) + " are not inside one allocation");
        }
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    private void notCapturing(String what) {
        if (recording != null) {
            throw new IllegalStateException(what + " while a graph is captured");
        }
    }

    @Override
    public void upload(long dst, MemorySegment src) {
        notCapturing("upload");
        device(dst, src.byteSize()).copyFrom(src);
    }

    @Override
    public void download(MemorySegment dst, long src) {
        notCapturing("download");
        dst.copyFrom(device(src, dst.byteSize()));
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        notCapturing("copy");
        device(dst, bytes).copyFrom(device(src, bytes));
    }

    @Override
    public void zero(long dst, long bytes) {
        notCapturing("zero");
        device(dst, bytes).fill((byte) 0);
    }

    @Override
    public synchronized void launch(String name, int gridX, int gridY, int block, int sharedBytes, Object... args) {
        Object[] copy = args.clone();
        if (recording != null) {
            recording.add(() -> run(name, gridX, gridY, block, sharedBytes, copy));
            return;
        }
        run(name, gridX, gridY, block, sharedBytes, copy);
    }

    private synchronized void run(String name, int gridX, int gridY, int block, int sharedBytes, Object[] args) {
        launched.merge(name, 1, Integer::sum);
        try (Arena a = Arena.ofConfined()) {
            // A GPU reads as many parameters as the kernel declares, whatever the host passed: check the count.
            MemorySegment sizes = a.allocate(ValueLayout.JAVA_INT, 64);
            int declared = (int) PARAMS.invokeExact(a.allocateFrom(name), sizes, 64);
            if (declared >= 0 && declared != args.length) {
                throw new IllegalArgumentException(
                        name + " takes " + declared + " parameters; the launch passed " + args.length);
            }
            MemorySegment values = a.allocate(8L * Math.max(1, args.length), 8);
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = values.asSlice(8L * i, 8);
                switch (args[i]) {
                    case Long l -> slot.set(ValueLayout.JAVA_LONG, 0, l);
                    case Integer v -> slot.set(ValueLayout.JAVA_INT, 0, v);
                    case Float f -> slot.set(ValueLayout.JAVA_FLOAT, 0, f);
                    default -> throw new IllegalArgumentException(name + ": argument " + i + " is a " + args[i]);
                }
                params.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            int rc = (int) LAUNCH.invokeExact(a.allocateFrom(name), gridX, gridY, 1, block, 1, 1, sharedBytes, params);
            if (rc != 0) {
                MemorySegment err = ((MemorySegment) ERROR.invokeExact()).reinterpret(512);
                throw new IllegalStateException("emulated launch of " + name + " failed: " + err.getString(0));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void synchronize() {}

    @Override
    public synchronized Graph capture(Runnable body) {
        recording = new ArrayList<>();
        List<Runnable> recorded;
        try {
            body.run();
        } finally {
            recorded = recording;
            recording = null;
        }
        return new Graph() {
            @Override
            public void launch() {
                recorded.forEach(Runnable::run);
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public synchronized void close() {
        for (long a : new ArrayList<>(allocations.keySet())) {
            free(a);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
