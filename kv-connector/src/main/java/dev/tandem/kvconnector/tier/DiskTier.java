package dev.tandem.kvconnector.tier;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * KV blocks on disk, one file per block ({@code <hash>.kv}: a CRC-32C of the data, then the block's bytes), at most
 * {@code budget / blockBytes} of them counting writes in flight, least recently used deleted first. Every file
 * operation runs on this tier's own I/O thread, never on the engine thread: a block to write is copied into one of a
 * bounded set of staging buffers and queued; with no buffer free it is dropped (it is a cache). A block that fails
 * its checksum on reading is reported failed, and its tokens are recomputed.
 */
final class DiskTier implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(DiskTier.class.getName());
    private static final int HEADER = 8;

    private enum State {
        WRITING,
        STORED
    }

    private final Path dir;
    private final long blockBytes;
    private final int capacity;
    private final int maxStaged;
    private final ExecutorService io;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}; access order: least recently used first. */
    private final LinkedHashMap<Long, State> lru = new LinkedHashMap<>(16, 0.75f, true);

    private int staged;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();

    DiskTier(Path dir, long budgetBytes, long blockBytes) throws IOException {
        this.dir = dir;
        this.blockBytes = blockBytes;
        this.capacity = (int) Math.min(Integer.MAX_VALUE, budgetBytes / (blockBytes + HEADER));
        if (capacity < 1) {
            throw new IllegalArgumentException(
                    "--disk-kv-bytes " + budgetBytes + " holds no KV block of " + blockBytes + " bytes");
        }
        Files.createDirectories(dir);
        // Blocks of an earlier run are not reused: their hashes may come from another model.
        try (var old = Files.list(dir)) {
            for (Path p :
                    old.filter(p -> p.getFileName().toString().endsWith(".kv")).toList()) {
                Files.deleteIfExists(p);
            }
        }
        // Staging is bounded in bytes (64 MiB or 4 blocks, whichever is more) so a burst of evictions cannot grow
        // the heap without limit.
        this.maxStaged = (int) Math.max(4, Math.min(1024, (64L << 20) / blockBytes));
        this.io = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name("kv-disk").daemon(true).factory());
    }

    int capacity() {
        return capacity;
    }

    long dropped() {
        return dropped.get();
    }

    long written() {
        return written.get();
    }

    /** Whether {@code hash} is on disk (written, not just queued). */
    boolean contains(long hash) {
        synchronized (lock) {
            return lru.get(hash) == State.STORED;
        }
    }

    /** Blocks on disk or being written. */
    int size() {
        synchronized (lock) {
            return lru.size();
        }
    }

    /**
     * What an offer did.
     *
     * @param accepted the block is being written (false: dropped: already here, no staging buffer free, or
     *     nothing evictable)
     * @param evicted the block deleted to make room, or null
     */
    record Offer(boolean accepted, Long evicted) {}

    private static final Offer DROPPED = new Offer(false, null);

    /** Queues {@code block} (copied now, on the caller's thread) to be written under {@code hash}. */
    Offer offer(long hash, MemorySegment block) {
        long victim;
        synchronized (lock) {
            if (lru.containsKey(hash) || staged >= maxStaged) {
                dropped.incrementAndGet();
                return DROPPED;
            }
            victim = lru.size() >= capacity ? evictable() : Long.MIN_VALUE;
            if (lru.size() >= capacity && victim == Long.MIN_VALUE) {
                dropped.incrementAndGet();
                return DROPPED;
            }
            if (victim != Long.MIN_VALUE) {
                lru.remove(victim);
            }
            lru.put(hash, State.WRITING);
            staged++;
        }
        byte[] copy = new byte[Math.toIntExact(blockBytes)];
        MemorySegment.copy(block, 0, MemorySegment.ofArray(copy), 0, blockBytes);
        final long evicted = victim;
        io.execute(() -> {
            try {
                if (evicted != Long.MIN_VALUE) {
                    Files.deleteIfExists(file(evicted));
                }
                write(hash, copy);
                synchronized (lock) {
                    if (lru.containsKey(hash)) {
                        lru.put(hash, State.STORED);
                    } else {
                        Files.deleteIfExists(file(hash)); // evicted while being written
                    }
                }
                written.incrementAndGet();
            } catch (IOException e) {
                synchronized (lock) {
                    lru.remove(hash);
                }
                LOG.log(System.Logger.Level.WARNING, "could not write a KV block to " + dir + ": " + e.getMessage());
            } finally {
                synchronized (lock) {
                    staged--;
                }
            }
        });
        return new Offer(true, victim == Long.MIN_VALUE ? null : victim);
    }

    /** The least recently used stored block, or MIN_VALUE when only writes in flight remain. Under the lock. */
    private long evictable() {
        Iterator<Map.Entry<Long, State>> it = lru.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, State> e = it.next();
            if (e.getValue() == State.STORED) {
                return e.getKey();
            }
        }
        return Long.MIN_VALUE;
    }

    /** Runs {@code task} on the I/O thread, after the writes queued before it. */
    void submit(Runnable task) {
        io.execute(task);
    }

    /**
     * Reads {@code hash} into {@code dst} (on the I/O thread); false when it is gone or fails its checksum. A read
     * block counts as used (it moves to the back of the eviction order).
     */
    boolean read(long hash, MemorySegment dst) {
        synchronized (lock) {
            if (lru.get(hash) != State.STORED) {
                return false;
            }
        }
        try (FileChannel ch = FileChannel.open(file(hash), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(HEADER + blockBytes))
                    .order(ByteOrder.LITTLE_ENDIAN);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // read it all
            }
            if (buf.hasRemaining()) {
                return false;
            }
            buf.flip();
            long want = buf.getLong();
            CRC32C crc = new CRC32C();
            crc.update(buf.duplicate());
            if (crc.getValue() != want) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "KV block {0} on disk failed its checksum",
                        Long.toHexString(hash));
                return false;
            }
            // The buffer's position is past the header: its segment starts at the data.
            MemorySegment.copy(MemorySegment.ofBuffer(buf), 0, dst, 0, blockBytes);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void write(long hash, byte[] data) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(data);
        ByteBuffer head =
                ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN).putLong(0, crc.getValue());
        Path tmp = dir.resolve(Long.toHexString(hash) + ".tmp");
        try (FileChannel ch = FileChannel.open(
                tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer[] bufs = {head, ByteBuffer.wrap(data)};
            while (bufs[1].hasRemaining()) {
                ch.write(bufs);
            }
        }
        Files.move(tmp, file(hash), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private Path file(long hash) {
        return dir.resolve(Long.toHexString(hash) + ".kv");
    }

    @Override
    public void close() {
        io.shutdown();
        try {
            io.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
