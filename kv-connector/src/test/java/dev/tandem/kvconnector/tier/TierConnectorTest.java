package dev.tandem.kvconnector.tier;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.kv.connector.ConnectorMetadata;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.KvLayout;
import dev.tandem.api.kv.connector.MatchedTokens;
import dev.tandem.api.kv.connector.MemoryKvBlockStore;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host and disk tiers on an off-heap block store: a block evicted from the primary cache comes back byte for
 * byte, synchronously from host memory and in the background from disk; the tiers stay within their budgets; a
 * block damaged on disk is reported failed, never loaded.
 */
class TierConnectorTest {

    private static final KvLayout LAYOUT = new KvLayout(4, 2, 2, 8, "f32");

    @TempDir
    Path dir;

    private MemoryKvBlockStore store;
    private TierConnector tiers;

    private void start(long hostBytes, Path diskDir, long diskBytes) {
        store = new MemoryKvBlockStore(LAYOUT, 32);
        tiers = new TierConnector(hostBytes, diskDir, diskBytes);
        tiers.register(new KvConnectorContext("w", store, () -> {}));
    }

    @AfterEach
    void stop() {
        tiers.close();
        store.close();
    }

    private MemorySegment block(int b) {
        return store.memory().asSlice(b * LAYOUT.bytesPerBlock(), LAYOUT.bytesPerBlock());
    }

    private void pattern(int b, int salt) {
        MemorySegment m = block(b);
        for (long i = 0; i < m.byteSize() / 4; i++) {
            m.setAtIndex(ValueLayout.JAVA_INT, i, (int) (i * 31 + salt));
        }
    }

    private static ConnectorRequest request(String id, long... hashes) {
        int tokens = hashes.length * LAYOUT.blockSize() + 1;
        return new ConnectorRequest(id, new int[tokens], tokens, tokens, 0, hashes, null);
    }

    /** Evicts block {@code b} (holding {@code salt}'s pattern) under {@code hash}, then overwrites it. */
    private void evict(int b, long hash, int salt) {
        pattern(b, salt);
        tiers.onBlockEvicted(b, hash, null);
        pattern(b, -1);
    }

    private boolean holdsPattern(int b, int salt) {
        MemorySegment m = block(b);
        for (long i = 0; i < m.byteSize() / 4; i++) {
            if (m.getAtIndex(ValueLayout.JAVA_INT, i) != (int) (i * 31 + salt)) {
                return false;
            }
        }
        return true;
    }

    /** Waits for a background load of {@code id}; returns the failed blocks. */
    private Set<Integer> awaitLoad(String id) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        Set<String> received = new HashSet<>();
        Set<Integer> failed = new HashSet<>();
        while (!received.contains(id) && System.nanoTime() < deadline) {
            received.addAll(tiers.finished().received());
            failed.addAll(tiers.failedBlockLoads());
            Thread.sleep(5);
        }
        assertThat(received).contains(id);
        failed.addAll(tiers.failedBlockLoads());
        return failed;
    }

    private void awaitWrites(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (diskTier().written() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    private DiskTier diskTier() {
        try {
            var f = TierConnector.class.getDeclaredField("disk");
            f.setAccessible(true);
            return (DiskTier) f.get(tiers);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aBlockEvictedToHostMemoryComesBackByteForByteInTheNextStep() {
        start(1 << 20, null, 0);
        evict(3, 111L, 7);
        evict(4, 222L, 8);
        MatchedTokens m = tiers.matchedTokens(request("r", 111L, 222L, 333L), 0);
        assertThat(m.tokens()).isEqualTo(2 * LAYOUT.blockSize());
        assertThat(m.async()).isFalse();
        assertThat(m.cacheHit()).isTrue();
        tiers.afterAllocation(request("r", 111L, 222L, 333L), new int[] {10, 11, 12}, 0, 2 * LAYOUT.blockSize());
        ConnectorMetadata meta = tiers.buildMetadata();
        assertThat(holdsPattern(10, 7)).isFalse();
        tiers.startLoad(meta);
        assertThat(holdsPattern(10, 7)).isTrue();
        assertThat(holdsPattern(11, 8)).isTrue();
    }

    @Test
    void theTiersAnnounceWhatTheyStoreAndDropInKvEventsNamingTheirMedium() throws Exception {
        start(LAYOUT.bytesPerBlock(), dir.resolve("kv"), 1 << 20);
        evict(1, 11L, 1);
        evict(2, 12L, 2); // pushes 11 from host memory to disk
        var events = tiers.takeEvents();
        assertThat(events).hasSize(4);
        assertThat(events.get(0)).isInstanceOfSatisfying(dev.tandem.api.kv.KvEvent.BlockStored.class, e -> {
            assertThat(e.blockHashes()).containsExactly(11L);
            assertThat(e.medium()).isEqualTo("CPU");
        });
        assertThat(events.get(1)).isInstanceOfSatisfying(dev.tandem.api.kv.KvEvent.BlockRemoved.class, e -> {
            assertThat(e.blockHashes()).containsExactly(11L);
            assertThat(e.medium()).isEqualTo("CPU");
        });
        assertThat(events.get(2)).isInstanceOfSatisfying(dev.tandem.api.kv.KvEvent.BlockStored.class, e -> {
            assertThat(e.blockHashes()).containsExactly(11L);
            assertThat(e.medium()).isEqualTo("DISK");
        });
        assertThat(events.get(3)).isInstanceOfSatisfying(dev.tandem.api.kv.KvEvent.BlockStored.class, e -> {
            assertThat(e.blockHashes()).containsExactly(12L);
            assertThat(e.medium()).isEqualTo("CPU");
        });
        assertThat(tiers.takeEvents()).isEmpty();
    }

    @Test
    void theHostTierNeverHoldsMoreThanItsBudgetAndEvictsTheLeastRecentlyUsed() {
        start(3 * LAYOUT.bytesPerBlock(), null, 0);
        for (int i = 0; i < 10; i++) {
            evict(i, 1000L + i, i);
            assertThat(tiers.sizes()[0]).isLessThanOrEqualTo(3);
        }
        assertThat(tiers.matchedTokens(request("old", 1000L), 0).tokens()).isZero();
        assertThat(tiers.matchedTokens(request("new", 1009L), 0).tokens()).isEqualTo(LAYOUT.blockSize());
        tiers.buildMetadata(); // drops the pins of matches that were not allocated
    }

    @Test
    void aBlockEvictedStraightToDiskComesBackInTheBackground() throws Exception {
        start(0, dir.resolve("kv"), 1 << 20);
        evict(3, 111L, 7);
        awaitWrites(1);
        MatchedTokens m = tiers.matchedTokens(request("r", 111L), 0);
        assertThat(m.tokens()).isEqualTo(LAYOUT.blockSize());
        assertThat(m.async()).isTrue();
        tiers.afterAllocation(request("r", 111L), new int[] {20}, 0, LAYOUT.blockSize());
        assertThat(awaitLoad("r")).isEmpty();
        assertThat(holdsPattern(20, 7)).isTrue();
    }

    @Test
    void theHostTierSpillsToDiskAndARunAcrossBothLoadsWhole() throws Exception {
        start(2 * LAYOUT.bytesPerBlock(), dir.resolve("kv"), 1 << 20);
        evict(1, 11L, 1);
        evict(2, 12L, 2);
        evict(3, 13L, 3); // pushes 11 from host to disk
        awaitWrites(1);
        assertThat(tiers.sizes()).containsExactly(2, 1);
        ConnectorRequest r = request("r", 11L, 12L, 13L);
        MatchedTokens m = tiers.matchedTokens(r, 0);
        assertThat(m.tokens()).isEqualTo(3 * LAYOUT.blockSize());
        assertThat(m.async()).isTrue();
        tiers.afterAllocation(r, new int[] {20, 21, 22}, 0, 3 * LAYOUT.blockSize());
        assertThat(awaitLoad("r")).isEmpty();
        assertThat(holdsPattern(20, 1) && holdsPattern(21, 2) && holdsPattern(22, 3))
                .isTrue();
    }

    @Test
    void theDiskTierNeverHoldsMoreThanItsBudget() throws Exception {
        long budget = 3 * (LAYOUT.bytesPerBlock() + 8);
        start(0, dir.resolve("kv"), budget);
        for (int i = 0; i < 12; i++) {
            evict(i % 30, 5000L + i, i);
            awaitWrites(i + 1);
            long onDisk;
            try (Stream<Path> files = Files.list(dir.resolve("kv"))) {
                onDisk = files.mapToLong(p -> {
                            try {
                                return Files.size(p);
                            } catch (IOException e) {
                                return 0;
                            }
                        })
                        .sum();
            }
            assertThat(onDisk).isLessThanOrEqualTo(budget);
        }
        assertThat(tiers.sizes()[1]).isEqualTo(3);
    }

    @Test
    void aBlockDamagedOnDiskIsReportedFailedNotLoaded() throws Exception {
        start(0, dir.resolve("kv"), 1 << 20);
        evict(3, 0xabcL, 7);
        awaitWrites(1);
        Path file = dir.resolve("kv").resolve("abc.kv");
        byte[] bytes = Files.readAllBytes(file);
        bytes[40] ^= 1;
        Files.write(file, bytes);
        tiers.matchedTokens(request("r", 0xabcL), 0);
        tiers.afterAllocation(request("r", 0xabcL), new int[] {9}, 0, LAYOUT.blockSize());
        assertThat(awaitLoad("r")).containsExactly(9);
    }
}
