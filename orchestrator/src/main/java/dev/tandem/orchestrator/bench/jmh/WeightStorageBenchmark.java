package dev.tandem.orchestrator.bench.jmh;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Where f32 weights should live: one decode-style matrix-vector product over 256 MB of weights (rows of 768, as the
 * 110M model's attention matrices), split in two contiguous halves over two threads, reading the weights from
 * each kind of memory the JVM offers. Score × 256 MiB = read bandwidth. The heap variant runs under two collectors,
 * because the collector decides the heap's pages: ZGC maps its heap as shared memory, which gets no transparent
 * huge pages unless the kernel's shmem setting allows them; the Parallel collector with
 * {@code -XX:+UseTransparentHugePages} madvises its heap into 2 MiB pages.
 *
 * <p>Kinds: {@code heap} (a float[]), {@code arena} (Arena.ofShared().allocate), {@code anon} (anonymous mmap
 * through FFM, global scope), {@code anon-huge} (the same with madvise(MADV_HUGEPAGE) before first touch),
 * {@code file} (a file mapped with FileChannel.map into a shared arena).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
public class WeightStorageBenchmark {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int COLS = 768;
    private static final long FLOATS = 1L << 26;
    private static final int ROWS = (int) (FLOATS / COLS);
    private static final long HUGE = 2L << 20;
    private static final int MADV_HUGEPAGE = 14;

    @Param({"heap", "arena", "anon", "anon-huge", "file"})
    String kind;

    private float[] heap;
    private MemorySegment segment;
    private Arena arena;
    private Path file;
    private final float[] x = new float[COLS];
    private final float[] out = new float[ROWS];
    private ExecutorService pool;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        for (int i = 0; i < COLS; i++) {
            x[i] = (i % 13) * 1e-3f;
        }
        pool = Executors.newFixedThreadPool(2);
        arena = Arena.ofShared();
        switch (kind) {
            case "heap" -> heap = new float[(int) FLOATS];
            case "arena" -> segment = arena.allocate(FLOATS * 4, 64);
            case "anon" -> segment = anonymous(false);
            case "anon-huge" -> segment = anonymous(true);
            case "file" -> {
                file = Files.createTempFile("tandem-weights", ".bin");
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, FLOATS * 4, arena);
                }
            }
            default -> throw new IllegalArgumentException(kind);
        }
        for (long i = 0; i < FLOATS; i++) {
            float v = (i & 7) * 0.125f;
            if (heap != null) {
                heap[(int) i] = v;
            } else {
                segment.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
            }
        }
    }

    /** Anonymous private memory from mmap, 2 MiB aligned, optionally advised into huge pages before first touch. */
    private static MemorySegment anonymous(boolean huge) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle mmap = linker.downcallHandle(
                linker.defaultLookup().find("mmap").orElseThrow(),
                FunctionDescriptor.of(
                        ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG));
        MemorySegment raw = (MemorySegment) mmap.invoke(MemorySegment.NULL, FLOATS * 4 + HUGE, 3, 0x22, -1, 0L);
        long aligned = (raw.address() + HUGE - 1) & -HUGE;
        MemorySegment s = MemorySegment.ofAddress(aligned).reinterpret(FLOATS * 4);
        if (huge) {
            MethodHandle madvise = linker.downcallHandle(
                    linker.defaultLookup().find("madvise").orElseThrow(),
                    FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            int rc = (int) madvise.invoke(s, FLOATS * 4, MADV_HUGEPAGE);
            if (rc != 0) {
                throw new IllegalStateException("madvise(MADV_HUGEPAGE) failed");
            }
        }
        return s; // unmapped when the forked JVM exits
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        pool.shutdownNow();
        arena.close();
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }

    @Benchmark
    @Fork(
            value = 1,
            jvmArgs = {
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx2g",
                "-XX:+UseZGC"
            })
    public float matVecUnderZgc() throws Exception {
        return matVec();
    }

    @Benchmark
    @Fork(
            value = 1,
            jvmArgs = {
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx2g",
                "-XX:+UseParallelGC",
                "-XX:+UseTransparentHugePages"
            })
    public float matVecUnderParallelGcWithHugePages() throws Exception {
        return matVec();
    }

    private float matVec() throws Exception {
        Future<?> upper = pool.submit(() -> rows(0, ROWS / 2));
        rows(ROWS / 2, ROWS);
        upper.get();
        return out[ROWS - 1];
    }

    private void rows(int from, int to) {
        if (heap != null) {
            for (int r = from; r < to; r++) {
                out[r] = dot(heap, r * COLS);
            }
        } else {
            for (int r = from; r < to; r++) {
                out[r] = dot(segment, (long) r * COLS * Float.BYTES);
            }
        }
    }

    private float dot(float[] w, int o) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        for (int i = 0; i < COLS; i += 4 * L) {
            s0 = FloatVector.fromArray(S, w, o + i).fma(FloatVector.fromArray(S, x, i), s0);
            s1 = FloatVector.fromArray(S, w, o + i + L).fma(FloatVector.fromArray(S, x, i + L), s1);
            s2 = FloatVector.fromArray(S, w, o + i + 2 * L).fma(FloatVector.fromArray(S, x, i + 2 * L), s2);
            s3 = FloatVector.fromArray(S, w, o + i + 3 * L).fma(FloatVector.fromArray(S, x, i + 3 * L), s3);
        }
        return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }

    private float dot(MemorySegment w, long o) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        for (int i = 0; i < COLS; i += 4 * L) {
            long b = o + (long) i * Float.BYTES;
            s0 = FloatVector.fromMemorySegment(S, w, b, le).fma(FloatVector.fromArray(S, x, i), s0);
            s1 = FloatVector.fromMemorySegment(S, w, b + 4L * L, le).fma(FloatVector.fromArray(S, x, i + L), s1);
            s2 = FloatVector.fromMemorySegment(S, w, b + 8L * L, le).fma(FloatVector.fromArray(S, x, i + 2 * L), s2);
            s3 = FloatVector.fromMemorySegment(S, w, b + 12L * L, le).fma(FloatVector.fromArray(S, x, i + 3 * L), s3);
        }
        return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }
}
