package dev.tandem.kvconnector.tier;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * KV blocks in off-heap host memory: a fixed number of block-sized slots in one {@link Arena} segment (the budget
 * is never exceeded), indexed by chained block hash, least recently used evicted first. Pinned blocks (a load in
 * flight) are never evicted. Owned by the engine thread; a pinned slot's memory may be read from any thread.
 */
final class HostTier implements AutoCloseable {

    /** A block leaving this tier: the lower tier may keep it. Its memory is valid only during the call. */
    interface Spill {
        void spilled(long hash, Long parent, MemorySegment block);
    }

    private record Entry(int slot, Long parent, int[] pins) {}

    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;
    private final long blockBytes;
    private final int capacity;
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final LinkedHashMap<Long, Entry> lru = new LinkedHashMap<>(16, 0.75f, true);
    private final Spill spill;

    HostTier(long budgetBytes, long blockBytes, Spill spill) {
        this.blockBytes = blockBytes;
        this.capacity = (int) Math.min(Integer.MAX_VALUE, budgetBytes / blockBytes);
        if (capacity < 1) {
            throw new IllegalArgumentException(
                    "--host-kv-bytes " + budgetBytes + " holds no KV block of " + blockBytes + " bytes");
        }
        this.memory = arena.allocate(capacity * blockBytes, 64);
        for (int i = 0; i < capacity; i++) {
            freeSlots.add(i);
        }
        this.spill = spill;
    }

    int capacity() {
        return capacity;
    }

    int size() {
        return lru.size();
    }

    long bytesUsed() {
        return lru.size() * blockBytes;
    }

    boolean contains(long hash) {
        return lru.containsKey(hash);
    }

    /**
     * A slot for {@code hash}, evicting the least recently used unpinned block if full (it spills); null when every
     * slot is pinned. The caller fills the returned memory at once.
     */
    MemorySegment put(long hash, Long parent) {
        Entry e = lru.get(hash);
        if (e != null) {
            return null; // already here (touched)
        }
        if (freeSlots.isEmpty() && !evictOne()) {
            return null;
        }
        int slot = freeSlots.pop();
        lru.put(hash, new Entry(slot, parent, new int[1]));
        return slotMemory(slot);
    }

    /** Undoes a {@link #put} whose copy failed. */
    void drop(long hash) {
        Entry e = lru.remove(hash);
        if (e != null) {
            freeSlots.push(e.slot());
        }
    }

    /** Pins {@code hash} (it must be here) and returns its memory. */
    MemorySegment pin(long hash) {
        Entry e = lru.get(hash);
        e.pins()[0]++;
        return slotMemory(e.slot());
    }

    /** The memory of {@code hash}, which the caller has pinned. */
    MemorySegment memoryOf(long hash) {
        return slotMemory(lru.get(hash).slot());
    }

    void unpin(long hash) {
        Entry e = lru.get(hash);
        if (e != null && e.pins()[0] > 0) {
            e.pins()[0]--;
        }
    }

    private boolean evictOne() {
        Iterator<Map.Entry<Long, Entry>> it = lru.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, Entry> victim = it.next();
            Entry e = victim.getValue();
            if (e.pins()[0] == 0) {
                it.remove();
                spill.spilled(victim.getKey(), e.parent(), slotMemory(e.slot()));
                freeSlots.push(e.slot());
                return true;
            }
        }
        return false;
    }

    private MemorySegment slotMemory(int slot) {
        return memory.asSlice(slot * blockBytes, blockBytes);
    }

    @Override
    public void close() {
        lru.clear();
        arena.close();
    }
}
