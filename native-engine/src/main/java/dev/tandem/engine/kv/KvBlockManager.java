package dev.tandem.engine.kv;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.engine.util.IntList;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The paged KV cache's bookkeeping: a fixed pool of blocks of {@code blockSize} tokens, reference counts, a prefix
 * cache from chained block hash to block, and LRU reuse of freed blocks.
 *
 * <p>A block is either <em>in use</em> (reference count ≥ 1) or <em>free</em>. Free blocks sit in one LRU list;
 * those that still hold a hash stay findable in the prefix cache until the allocator reuses them, which evicts the
 * hash and emits a {@link KvEvent.BlockRemoved}. A full block registered with {@link #commitFull} emits a
 * {@link KvEvent.BlockStored}. Events accumulate until {@link #drainEvents}.
 *
 * <p>Not thread-safe: it belongs to its engine's scheduling thread.
 */
public final class KvBlockManager {

    private static final int NIL = -1;

    private final int blockSize;
    private final int[] refCount;
    private final long[] hash;
    private final boolean[] hashed;
    /** Chained hash of the block before each hashed block (valid where {@code hasParent}). */
    private final long[] parent;

    private final boolean[] hasParent;
    private EvictionListener evictionListener = (block, blockHash, parentHash) -> {};
    // Intrusive doubly linked LRU list of free blocks: head is the least recently freed (evicted first).
    private final int[] prev;
    private final int[] next;
    private int head = NIL;
    private int tail = NIL;
    private int freeCount;
    private final Map<Long, Integer> cache = new HashMap<>();
    private final List<KvEvent> pending = new ArrayList<>();
    private long lastStoredHash;
    private boolean lastWasStore;

    public KvBlockManager(int numBlocks, int blockSize) {
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("need at least one block of at least one token");
        }
        this.blockSize = blockSize;
        this.refCount = new int[numBlocks];
        this.hash = new long[numBlocks];
        this.hashed = new boolean[numBlocks];
        this.parent = new long[numBlocks];
        this.hasParent = new boolean[numBlocks];
        this.prev = new int[numBlocks];
        this.next = new int[numBlocks];
        for (int b = 0; b < numBlocks; b++) {
            pushTail(b);
        }
    }

    /** Told about every cached block the allocator reuses, while its KV is still intact. */
    @FunctionalInterface
    public interface EvictionListener {
        void evicted(int block, long blockHash, Long parentHash);
    }

    /** Sets who hears of evictions (a memory tier that keeps evicted blocks). */
    public void onEviction(EvictionListener listener) {
        this.evictionListener = listener;
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return refCount.length;
    }

    /** Blocks the allocator can hand out (free, whether or not they still hold a cached prefix). */
    public int freeBlocks() {
        return freeCount;
    }

    /** Blocks referenced by at least one sequence. */
    public int usedBlocks() {
        return refCount.length - freeCount;
    }

    /** Blocks findable in the prefix cache. */
    public int cachedBlocks() {
        return cache.size();
    }

    /** How many leading entries of {@code hashes} (at most {@code max}) are in the prefix cache. */
    public int cachedPrefixLength(long[] hashes, int max) {
        int n = Math.min(max, hashes.length);
        for (int i = 0; i < n; i++) {
            if (!cache.containsKey(hashes[i])) {
                return i;
            }
        }
        return n;
    }

    /** Of the first {@code n} hashes (all cached), how many sit in free blocks (acquiring them uses free capacity). */
    public int freeAmongCached(long[] hashes, int n) {
        int c = 0;
        for (int i = 0; i < n; i++) {
            if (refCount[cache.get(hashes[i])] == 0) {
                c++;
            }
        }
        return c;
    }

    /** Appends the cached blocks of the first {@code n} hashes to {@code table}, taking a reference on each. */
    public void acquireCached(IntList table, long[] hashes, int n) {
        for (int i = 0; i < n; i++) {
            Integer b = cache.get(hashes[i]);
            if (b == null) {
                throw new IllegalStateException("hash " + Long.toUnsignedString(hashes[i]) + " is not cached");
            }
            if (refCount[b]++ == 0) {
                unlink(b);
            }
            table.add(b);
        }
    }

    /** Appends {@code n} fresh blocks to {@code table}, or returns false and changes nothing when too few are free. */
    public boolean allocate(IntList table, int n) {
        if (n > freeCount) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            int b = head;
            unlink(b);
            if (hashed[b]) {
                evict(b);
            }
            refCount[b] = 1;
            table.add(b);
        }
        return true;
    }

    /**
     * Registers the full block {@code block} under its chained hash so later requests can reuse it. When another
     * block already holds the same hash (two identical prompts computed at once) the cache keeps that one.
     *
     * @param parentHash the chained hash of the block before it, or null for a sequence's first block
     */
    public void commitFull(int block, long blockHash, Long parentHash) {
        if (refCount[block] == 0) {
            throw new IllegalStateException("block " + block + " is free");
        }
        if (hashed[block] || cache.containsKey(blockHash)) {
            return;
        }
        hashed[block] = true;
        hash[block] = blockHash;
        hasParent[block] = parentHash != null;
        parent[block] = parentHash == null ? 0 : parentHash;
        cache.put(blockHash, block);
        boolean extendsLast = lastWasStore && parentHash != null && parentHash == lastStoredHash;
        if (extendsLast) {
            var last = (KvEvent.BlockStored) pending.removeLast();
            long[] hs = java.util.Arrays.copyOf(last.blockHashes(), last.blockHashes().length + 1);
            hs[hs.length - 1] = blockHash;
            pending.add(new KvEvent.BlockStored(last.parentHash(), hs));
        } else {
            pending.add(new KvEvent.BlockStored(parentHash, new long[] {blockHash}));
        }
        lastStoredHash = blockHash;
        lastWasStore = true;
    }

    /**
     * Drops one reference on every block of {@code table} and clears it. Blocks reaching zero join the LRU list in
     * reverse table order, so a sequence's tail blocks are reused before its (more shareable) prefix.
     */
    public void free(IntList table) {
        for (int i = table.size() - 1; i >= 0; i--) {
            int b = table.get(i);
            if (refCount[b] <= 0) {
                throw new IllegalStateException("double free of block " + b);
            }
            if (--refCount[b] == 0) {
                pushTail(b);
            }
        }
        table.clear();
    }

    public int refCount(int block) {
        return refCount[block];
    }

    /** Every cached chained hash, for re-sync dumps. */
    public long[] cachedHashes() {
        long[] out = new long[cache.size()];
        int i = 0;
        for (long h : cache.keySet()) {
            out[i++] = h;
        }
        return out;
    }

    /** The events since the last drain, as a batch with {@code eventId}; null when there were none. */
    public KvEventBatch drainEvents(String workerId, long eventId) {
        if (pending.isEmpty()) {
            return null;
        }
        KvEventBatch batch = new KvEventBatch(workerId, eventId, pending);
        pending.clear();
        lastWasStore = false;
        return batch;
    }

    public boolean hasPendingEvents() {
        return !pending.isEmpty();
    }

    private void evict(int b) {
        hashed[b] = false;
        if (cache.remove(hash[b], b)) {
            evictionListener.evicted(b, hash[b], hasParent[b] ? parent[b] : null);
            if (!pending.isEmpty() && pending.getLast() instanceof KvEvent.BlockRemoved r) {
                long[] hs = java.util.Arrays.copyOf(r.blockHashes(), r.blockHashes().length + 1);
                hs[hs.length - 1] = hash[b];
                pending.set(pending.size() - 1, new KvEvent.BlockRemoved(hs));
            } else {
                pending.add(new KvEvent.BlockRemoved(new long[] {hash[b]}));
            }
            lastWasStore = false;
        }
    }

    private void pushTail(int b) {
        prev[b] = tail;
        next[b] = NIL;
        if (tail == NIL) {
            head = b;
        } else {
            next[tail] = b;
        }
        tail = b;
        freeCount++;
    }

    private void unlink(int b) {
        int p = prev[b];
        int n = next[b];
        if (p == NIL) {
            head = n;
        } else {
            next[p] = n;
        }
        if (n == NIL) {
            tail = p;
        } else {
            prev[n] = p;
        }
        prev[b] = NIL;
        next[b] = NIL;
        freeCount--;
    }
}
