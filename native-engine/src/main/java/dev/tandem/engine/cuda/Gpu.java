package dev.tandem.engine.cuda;

import java.lang.foreign.MemorySegment;

/**
 * The device the cuda backend computes on, reduced to what the forward pass needs: memory, copies, kernel launches
 * by name on one ordered stream, and graphs of launches. {@link JCudaGpu} drives a real GPU through the CUDA driver
 * API; the tests drive the same kernels on an emulated device, so the whole forward pass is exercised on machines
 * without a GPU. Device memory is addressed by plain {@code long} addresses.
 *
 * <p>Operations are ordered as issued; {@link #download} and {@link #synchronize} wait for everything before them.
 */
public interface Gpu extends AutoCloseable {

    /** One line: the device's name, memory and compute capability. */
    String describe();

    /** Device memory in bytes. */
    long totalMemory();

    /** Device memory still free, in bytes. */
    long freeMemory();

    /** Allocates {@code bytes} (256-byte aligned); throws {@link OutOfMemoryError} when the device has too little. */
    long alloc(long bytes);

    void free(long address);

    /** Copies the host bytes of {@code src} to device address {@code dst}. */
    void upload(long dst, MemorySegment src);

    /** Copies {@code dst.byteSize()} bytes from device address {@code src} to the host; waits for earlier work. */
    void download(MemorySegment dst, long src);

    /** Device-to-device copy. */
    void copy(long dst, long src, long bytes);

    /** Sets {@code bytes} of device memory to zero. */
    void zero(long dst, long bytes);

    /**
     * Launches kernel {@code name} on a grid of {@code gridX × gridY} blocks of {@code block} threads with
     * {@code sharedBytes} of dynamic shared memory. Arguments: {@link Long} for a device address, {@link Integer}
     * for an int, {@link Float} for a float, in the kernel's parameter order.
     */
    void launch(String name, int gridX, int gridY, int block, int sharedBytes, Object... args);

    /** Waits until every issued operation has finished. */
    void synchronize();

    /**
     * Records the launches {@code body} issues (and nothing else: no copies) into a graph that replays them with the
     * same arguments. Inputs that change between replays must live in device memory the kernels read.
     */
    Graph capture(Runnable body);

    /** A recorded sequence of launches. */
    interface Graph extends AutoCloseable {

        /** Issues the recorded launches again, in order. */
        void launch();

        @Override
        void close();
    }

    @Override
    void close();
}
