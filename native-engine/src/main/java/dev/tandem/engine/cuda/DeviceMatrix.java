package dev.tandem.engine.cuda;

import dev.tandem.engine.model.Bf16Matrix;
import dev.tandem.engine.model.F32Matrix;
import dev.tandem.engine.model.Matrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight matrix in device memory, row-major (one row per output), f32 or bf16 exactly as the CPU engine holds it:
 * bf16 weights are already bf16 values, so taking the upper half of each f32 loses nothing.
 */
record DeviceMatrix(long address, int rows, int cols, boolean bf16) {

    long bytes() {
        return (long) rows * cols * (bf16 ? 2 : 4);
    }

    /** Staging memory for uploads: rows are copied through it, so a large matrix never needs a host copy whole. */
    private static final long STAGING = 32L << 20;

    static DeviceMatrix upload(Gpu gpu, Matrix m) {
        return upload(gpu, new Matrix[] {m});
    }

    /**
     * The rows of {@code parts} stacked in one device matrix (Q, K and V as one product: one launch reads all three);
     * the parts share their columns and weight type.
     */
    static DeviceMatrix upload(Gpu gpu, Matrix... parts) {
        boolean bf16 = bf16(parts[0]);
        int cols = parts[0].cols();
        int rows = 0;
        for (Matrix m : parts) {
            if (bf16(m) != bf16 || m.cols() != cols) {
                throw new IllegalArgumentException("stacked matrices must share their columns and weight type");
            }
            rows += m.rows();
        }
        int element = bf16 ? 2 : 4;
        long address = gpu.alloc((long) rows * cols * element);
        long rowBytes = (long) cols * element;
        long at = address;
        for (Matrix m : parts) {
            copyRows(gpu, m, at, bf16);
            at += m.rows() * rowBytes;
        }
        return new DeviceMatrix(address, rows, cols, bf16);
    }

    private static boolean bf16(Matrix m) {
        if (m instanceof Bf16Matrix) {
            return true;
        }
        if (m instanceof F32Matrix) {
            return false;
        }
        throw new IllegalArgumentException("the cuda engine takes f32 or bf16 weights, not "
                + m.getClass().getSimpleName() + " (int8 runs on --engine native)");
    }

    /** Copies {@code m}'s rows to device memory at {@code address}, row-major, as f32 or bf16. */
    private static void copyRows(Gpu gpu, Matrix m, long address, boolean bf16) {
        int rows = m.rows();
        int cols = m.cols();
        int element = bf16 ? 2 : 4;
        long rowBytes = (long) cols * element;
        int rowsPerChunk = (int) Math.max(1, STAGING / rowBytes);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment staging = arena.allocate(rowsPerChunk * rowBytes, 256);
            for (int r0 = 0; r0 < rows; r0 += rowsPerChunk) {
                int n = Math.min(rowsPerChunk, rows - r0);
                int first = r0;
                // Rows are converted in parallel: an 8B model is 8·10⁹ weights to gather from the CPU layout.
                java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
                    float[] row = new float[cols];
                    m.row(first + i, row);
                    long at = i * rowBytes;
                    if (bf16) {
                        for (int c = 0; c < cols; c++) {
                            staging.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2L * c, (short)
                                    (Float.floatToRawIntBits(row[c]) >>> 16));
                        }
                    } else {
                        MemorySegment.copy(row, 0, staging, ValueLayout.JAVA_FLOAT_UNALIGNED, at, cols);
                    }
                });
                gpu.upload(address + r0 * rowBytes, staging.asSlice(0, n * rowBytes));
            }
        }
    }
}
