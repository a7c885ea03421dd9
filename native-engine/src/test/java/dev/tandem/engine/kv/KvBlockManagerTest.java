package dev.tandem.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.engine.util.IntList;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvBlockManagerTest {

    /** A table of {@code n} fresh blocks whose block i is committed under hash {@code base + i}. */
    private static IntList committedTable(KvBlockManager bm, long base, int n) {
        IntList t = new IntList();
        assertThat(bm.allocate(t, n)).isTrue();
        for (int i = 0; i < n; i++) {
            bm.commitFull(t.get(i), base + i, i == 0 ? null : base + i - 1);
        }
        return t;
    }

    private static List<Long> removedHashes(KvEventBatch batch) {
        List<Long> out = new ArrayList<>();
        if (batch == null) {
            return out;
        }
        for (KvEvent e : batch.events()) {
            if (e instanceof KvEvent.BlockRemoved r) {
                for (long h : r.blockHashes()) {
                    out.add(h);
                }
            }
        }
        return out;
    }

    @Test
    void rejectsAnEmptyPoolOrEmptyBlocks() {
        assertThatThrownBy(() -> new KvBlockManager(0, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvBlockManager(4, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aNewPoolHasEveryBlockFreeAndNothingCached() {
        KvBlockManager bm = new KvBlockManager(8, 16);
        assertThat(bm.totalBlocks()).isEqualTo(8);
        assertThat(bm.blockSize()).isEqualTo(16);
        assertThat(bm.freeBlocks()).isEqualTo(8);
        assertThat(bm.usedBlocks()).isZero();
        assertThat(bm.cachedBlocks()).isZero();
        assertThat(bm.cachedHashes()).isEmpty();
        assertThat(bm.hasPendingEvents()).isFalse();
        assertThat(bm.drainEvents("w", 1)).isNull();
    }

    @Test
    void allocateHandsOutDistinctBlocksWithOneReferenceEach() {
        KvBlockManager bm = new KvBlockManager(8, 4);
        IntList t = new IntList();
        assertThat(bm.allocate(t, 5)).isTrue();
        assertThat(t.toArray()).doesNotHaveDuplicates().hasSize(5);
        for (int b : t.toArray()) {
            assertThat(bm.refCount(b)).isEqualTo(1);
        }
        assertThat(bm.usedBlocks()).isEqualTo(5);
        assertThat(bm.freeBlocks()).isEqualTo(3);
    }

    @Test
    void allocatingMoreThanIsFreeFailsAndChangesNothing() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        IntList held = committedTable(bm, 100, 3);
        IntList t = new IntList();
        t.add(42); // pre-existing content must survive a failed allocation
        assertThat(bm.allocate(t, 2)).isFalse();
        assertThat(t.toArray()).containsExactly(42);
        assertThat(bm.freeBlocks()).isEqualTo(1);
        assertThat(bm.usedBlocks()).isEqualTo(3);
        assertThat(bm.cachedBlocks()).isEqualTo(3);
        assertThat(held.size()).isEqualTo(3);
    }

    @Test
    void allocatingZeroBlocksAlwaysSucceeds() {
        KvBlockManager bm = new KvBlockManager(1, 4);
        IntList t = new IntList();
        assertThat(bm.allocate(t, 1)).isTrue();
        assertThat(bm.allocate(new IntList(), 0)).isTrue();
        assertThat(bm.freeBlocks()).isZero();
    }

    @Test
    void freeReturnsEveryBlockAndClearsTheTable() {
        KvBlockManager bm = new KvBlockManager(6, 4);
        IntList t = new IntList();
        bm.allocate(t, 4);
        int[] blocks = t.toArray();
        bm.free(t);
        assertThat(t.isEmpty()).isTrue();
        assertThat(bm.freeBlocks()).isEqualTo(6);
        assertThat(bm.usedBlocks()).isZero();
        for (int b : blocks) {
            assertThat(bm.refCount(b)).isZero();
        }
    }

    @Test
    void doubleFreeIsDetected() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        IntList t = new IntList();
        bm.allocate(t, 2);
        IntList copy = new IntList();
        copy.add(t.get(0));
        bm.free(t);
        assertThatThrownBy(() -> bm.free(copy)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void committedBlocksAreFoundByChainedHashAndSharedWithReferenceCounts() {
        KvBlockManager bm = new KvBlockManager(8, 4);
        IntList a = committedTable(bm, 100, 3);
        long[] hashes = {100, 101, 102, 999};
        assertThat(bm.cachedPrefixLength(hashes, 4)).isEqualTo(3);
        assertThat(bm.cachedPrefixLength(hashes, 2)).isEqualTo(2);
        assertThat(bm.cachedPrefixLength(new long[] {999, 100}, 2)).isZero();
        assertThat(bm.freeAmongCached(hashes, 3)).isZero();

        IntList b = new IntList();
        bm.acquireCached(b, hashes, 3);
        assertThat(b.toArray()).containsExactly(a.toArray());
        for (int blk : a.toArray()) {
            assertThat(bm.refCount(blk)).isEqualTo(2);
        }
        assertThat(bm.usedBlocks()).isEqualTo(3);

        bm.free(a);
        for (int blk : b.toArray()) {
            assertThat(bm.refCount(blk)).isEqualTo(1);
        }
        assertThat(bm.usedBlocks()).isEqualTo(3);
        bm.free(b);
        assertThat(bm.usedBlocks()).isZero();
        assertThat(bm.cachedBlocks())
                .as("freed blocks stay cached until reused")
                .isEqualTo(3);
    }

    @Test
    void acquiringAFreeCachedBlockTakesItOffTheFreeList() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        IntList a = committedTable(bm, 100, 2);
        bm.free(a);
        assertThat(bm.freeBlocks()).isEqualTo(4);
        long[] hashes = {100, 101};
        assertThat(bm.freeAmongCached(hashes, 2)).isEqualTo(2);
        IntList b = new IntList();
        bm.acquireCached(b, hashes, 2);
        assertThat(bm.freeBlocks()).isEqualTo(2);
        assertThat(bm.usedBlocks()).isEqualTo(2);
        // The remaining two allocations must not hand out (and so evict) the acquired blocks.
        IntList c = new IntList();
        assertThat(bm.allocate(c, 2)).isTrue();
        assertThat(c.toArray()).doesNotContain(b.toArray());
        assertThat(bm.cachedBlocks()).isEqualTo(2);
        assertThat(bm.allocate(new IntList(), 1)).isFalse();
    }

    @Test
    void acquiringAnUncachedHashFails() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        assertThatThrownBy(() -> bm.acquireCached(new IntList(), new long[] {7}, 1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("7");
    }

    @Test
    void committingAFreeBlockFails() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        assertThatThrownBy(() -> bm.commitFull(0, 1, null)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aHashAlreadyCachedInAnotherBlockKeepsTheFirstBlock() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        IntList a = committedTable(bm, 100, 1);
        IntList b = new IntList();
        bm.allocate(b, 1);
        bm.commitFull(b.get(0), 100, null);
        assertThat(bm.cachedBlocks()).isEqualTo(1);
        IntList c = new IntList();
        bm.acquireCached(c, new long[] {100}, 1);
        assertThat(c.get(0)).isEqualTo(a.get(0));
        KvEventBatch batch = bm.drainEvents("w", 1);
        assertThat(batch.events()).hasSize(1);
        assertThat(((KvEvent.BlockStored) batch.events().getFirst()).blockHashes())
                .containsExactly(100L);
    }

    @Test
    void recommittingAHashedBlockIsANoOp() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        IntList a = committedTable(bm, 100, 1);
        bm.drainEvents("w", 1);
        bm.commitFull(a.get(0), 555, null);
        assertThat(bm.hasPendingEvents()).isFalse();
        assertThat(bm.cachedHashes()).containsExactly(100L);
    }

    @Test
    void freedCachedBlocksAreReusedLeastRecentlyFreedFirst() {
        KvBlockManager bm = new KvBlockManager(3, 4);
        IntList a = committedTable(bm, 100, 1);
        IntList b = committedTable(bm, 200, 1);
        IntList c = committedTable(bm, 300, 1);
        bm.drainEvents("w", 1);
        bm.free(b);
        bm.free(c);
        bm.free(a);

        IntList t = new IntList();
        bm.allocate(t, 1);
        assertThat(removedHashes(bm.drainEvents("w", 2))).containsExactly(200L);
        bm.allocate(t, 1);
        assertThat(removedHashes(bm.drainEvents("w", 3))).containsExactly(300L);
        bm.allocate(t, 1);
        assertThat(removedHashes(bm.drainEvents("w", 4))).containsExactly(100L);
        assertThat(bm.cachedBlocks()).isZero();
    }

    @Test
    void reacquiringACachedBlockMakesItMostRecentlyUsed() {
        KvBlockManager bm = new KvBlockManager(2, 4);
        IntList a = committedTable(bm, 100, 1);
        IntList b = committedTable(bm, 200, 1);
        bm.free(a);
        bm.free(b);
        // a is the least recently freed; touching it again puts it behind b.
        IntList again = new IntList();
        bm.acquireCached(again, new long[] {100}, 1);
        bm.free(again);
        bm.drainEvents("w", 1);
        bm.allocate(new IntList(), 1);
        assertThat(removedHashes(bm.drainEvents("w", 2))).containsExactly(200L);
        assertThat(bm.cachedHashes()).containsExactly(100L);
    }

    @Test
    void tailBlocksOfAFreedTableAreEvictedBeforeItsPrefix() {
        KvBlockManager bm = new KvBlockManager(4, 4);
        IntList a = committedTable(bm, 100, 4);
        bm.drainEvents("w", 1);
        bm.free(a);
        List<Long> evicted = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bm.allocate(new IntList(), 1);
            evicted.addAll(removedHashes(bm.drainEvents("w", 2 + i)));
        }
        assertThat(evicted).containsExactly(103L, 102L, 101L, 100L);
    }

    @Test
    void blocksNeverCommittedAreReusedWithoutRemovalEvents() {
        KvBlockManager bm = new KvBlockManager(2, 4);
        IntList t = new IntList();
        bm.allocate(t, 2);
        bm.free(t);
        bm.allocate(t, 2);
        assertThat(bm.drainEvents("w", 1)).isNull();
    }

    @Test
    void consecutiveStoresOfOneChainCoalesceIntoOneEvent() {
        KvBlockManager bm = new KvBlockManager(8, 4);
        committedTable(bm, 100, 3);
        KvEventBatch batch = bm.drainEvents("w1", 7);
        assertThat(batch.workerId()).isEqualTo("w1");
        assertThat(batch.eventId()).isEqualTo(7);
        assertThat(batch.events()).hasSize(1);
        var stored = (KvEvent.BlockStored) batch.events().getFirst();
        assertThat(stored.parentHash()).isNull();
        assertThat(stored.blockHashes()).containsExactly(100L, 101L, 102L);
        assertThat(bm.hasPendingEvents()).isFalse();
    }

    @Test
    void aStoreContinuingAChainAfterADrainCarriesItsParent() {
        KvBlockManager bm = new KvBlockManager(8, 4);
        IntList t = committedTable(bm, 100, 1);
        bm.drainEvents("w", 1);
        bm.allocate(t, 1);
        bm.commitFull(t.get(1), 101, 100L);
        var stored = (KvEvent.BlockStored) bm.drainEvents("w", 2).events().getFirst();
        assertThat(stored.parentHash()).isEqualTo(100L);
        assertThat(stored.blockHashes()).containsExactly(101L);
    }

    @Test
    void storesOfUnrelatedChainsStaySeparateEvents() {
        KvBlockManager bm = new KvBlockManager(8, 4);
        committedTable(bm, 100, 2);
        committedTable(bm, 200, 1);
        KvEventBatch batch = bm.drainEvents("w", 1);
        assertThat(batch.events()).hasSize(2);
        assertThat(((KvEvent.BlockStored) batch.events().get(0)).blockHashes()).containsExactly(100L, 101L);
        assertThat(((KvEvent.BlockStored) batch.events().get(1)).blockHashes()).containsExactly(200L);
    }

    @Test
    void consecutiveEvictionsCoalesceIntoOneRemovalEvent() {
        KvBlockManager bm = new KvBlockManager(3, 4);
        IntList a = committedTable(bm, 100, 3);
        bm.drainEvents("w", 1);
        bm.free(a);
        bm.allocate(new IntList(), 3);
        KvEventBatch batch = bm.drainEvents("w", 2);
        assertThat(batch.events()).hasSize(1);
        assertThat(((KvEvent.BlockRemoved) batch.events().getFirst()).blockHashes())
                .containsExactly(102L, 101L, 100L);
    }

    @Test
    void eventsKeepTheirOrderWhenStoresAndRemovalsInterleave() {
        KvBlockManager bm = new KvBlockManager(1, 4);
        IntList t = committedTable(bm, 100, 1);
        bm.free(t);
        bm.allocate(t, 1); // evicts 100
        bm.commitFull(t.get(0), 100, null); // and stores it again
        KvEventBatch batch = bm.drainEvents("w", 1);
        assertThat(batch.events())
                .extracting(e -> e.getClass().getSimpleName())
                .containsExactly("BlockStored", "BlockRemoved", "BlockStored");
        assertThat(bm.cachedHashes()).containsExactly(100L);
    }

    @Test
    void drainingTwiceYieldsNothingTheSecondTime() {
        KvBlockManager bm = new KvBlockManager(2, 4);
        committedTable(bm, 1, 1);
        assertThat(bm.hasPendingEvents()).isTrue();
        assertThat(bm.drainEvents("w", 1)).isNotNull();
        assertThat(bm.drainEvents("w", 2)).isNull();
    }
}
