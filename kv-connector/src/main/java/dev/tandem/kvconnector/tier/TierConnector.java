package dev.tandem.kvconnector.tier;

import dev.tandem.api.kv.connector.ConnectorMetadata;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.FinishedTransfers;
import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.MatchedTokens;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Memory tiers below the engine's primary KV cache: an off-heap host tier, a disk tier, or the disk below the host
 * (blocks the host tier evicts go to disk). A block the primary cache evicts is copied down at once (its KV is
 * overwritten right after); a later request whose prefix continues in a tier gets those blocks back: synchronously
 * in the step's {@link #startLoad} when all are in host memory (a copy of microseconds per block), in the
 * background on the disk tier's I/O thread when any is on disk. Tier hits count as cached prompt tokens.
 */
public final class TierConnector implements KvConnector {

    private record Load(long hash, int block) {}

    private record Plan(List<Load> loads) implements ConnectorMetadata {}

    private final long hostBytes;
    private final Path diskDir;
    private final long diskBytes;
    private KvConnectorContext context;
    private HostTier host;
    private DiskTier disk;
    /** Synchronous loads planned this step (pinned host blocks). */
    private final List<Load> planned = new ArrayList<>();
    /** The blocks of the request whose match was answered last, by hash index, for afterAllocation. */
    private final Map<String, long[]> matched = new HashMap<>();

    private final ConcurrentLinkedQueue<String> received = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Integer> failed = new ConcurrentLinkedQueue<>();
    /** Host blocks whose background read ended, to unpin on the engine thread. */
    private final ConcurrentLinkedQueue<Long> unpin = new ConcurrentLinkedQueue<>();

    private long hits;
    private long offloads;
    /** KV events of the tiers since the last {@link #takeEvents}; engine thread only. */
    private final List<dev.tandem.api.kv.KvEvent> events = new ArrayList<>();

    /**
     * @param hostBytes 0 for no host tier
     * @param diskDir null for no disk tier
     */
    public TierConnector(long hostBytes, Path diskDir, long diskBytes) {
        if (hostBytes <= 0 && diskDir == null) {
            throw new IllegalArgumentException("a tier connector needs a host or a disk tier");
        }
        this.hostBytes = hostBytes;
        this.diskDir = diskDir;
        this.diskBytes = diskBytes;
    }

    @Override
    public String name() {
        return host != null && disk != null ? "host+disk" : host != null ? "host" : "disk";
    }

    @Override
    public void register(KvConnectorContext context) {
        this.context = context;
        long blockBytes = context.store().layout().bytesPerBlock();
        try {
            if (diskDir != null) {
                disk = new DiskTier(diskDir, diskBytes, blockBytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use the disk KV tier in " + diskDir, e);
        }
        if (hostBytes > 0) {
            host = new HostTier(hostBytes, blockBytes, (hash, parent, block) -> {
                events.add(
                        new dev.tandem.api.kv.KvEvent.BlockRemoved(new long[] {hash}, dev.tandem.api.kv.KvEvent.HOST));
                if (disk != null) {
                    toDisk(hash, parent, block);
                }
            });
        }
    }

    /** Blocks in the host tier, on disk. */
    public int[] sizes() {
        return new int[] {host == null ? 0 : host.size(), disk == null ? 0 : disk.size()};
    }

    /** Blocks handed back to the engine, blocks taken from it. */
    public long[] counters() {
        return new long[] {hits, offloads};
    }

    @Override
    public void onBlockEvicted(int blockId, long blockHash, Long parentHash) {
        KvBlockStore store = context.store();
        if (host != null) {
            MemorySegment slot = host.put(blockHash, parentHash);
            if (slot != null) {
                store.readBlock(blockId, slot);
                offloads++;
                events.add(new dev.tandem.api.kv.KvEvent.BlockStored(
                        parentHash, new long[] {blockHash}, dev.tandem.api.kv.KvEvent.HOST));
            }
        } else if (disk != null) {
            // The disk tier copies into its staging buffer on this thread; the write happens on its own.
            try (Arena a = Arena.ofConfined()) {
                MemorySegment tmp = a.allocate(store.layout().bytesPerBlock());
                store.readBlock(blockId, tmp);
                if (toDisk(blockHash, parentHash, tmp)) {
                    offloads++;
                }
            }
        }
    }

    /** Offers a block to the disk tier and records what changed there. */
    private boolean toDisk(long hash, Long parent, MemorySegment block) {
        DiskTier.Offer o = disk.offer(hash, block);
        if (o.evicted() != null) {
            events.add(new dev.tandem.api.kv.KvEvent.BlockRemoved(
                    new long[] {o.evicted()}, dev.tandem.api.kv.KvEvent.DISK));
        }
        if (o.accepted()) {
            events.add(new dev.tandem.api.kv.KvEvent.BlockStored(
                    parent, new long[] {hash}, dev.tandem.api.kv.KvEvent.DISK));
        }
        return o.accepted();
    }

    @Override
    public List<dev.tandem.api.kv.KvEvent> takeEvents() {
        if (events.isEmpty()) {
            return List.of();
        }
        List<dev.tandem.api.kv.KvEvent> out = List.copyOf(events);
        events.clear();
        return out;
    }

    @Override
    public MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens) {
        drainUnpins();
        int bs = context.store().layout().blockSize();
        long[] hashes = request.blockHashes();
        int first = computedTokens / bs;
        int n = 0;
        boolean allHost = true;
        for (int i = first; i < hashes.length; i++) {
            long h = hashes[i];
            if (host != null && host.contains(h)) {
                n++;
            } else if (disk != null && disk.contains(h)) {
                n++;
                allHost = false;
            } else {
                break;
            }
        }
        if (n == 0) {
            return MatchedTokens.NONE;
        }
        long[] run = new long[n];
        System.arraycopy(hashes, first, run, 0, n);
        // Pinned from now: admitting this request may evict primary blocks into the host tier, which must not push
        // these out before they are loaded. Pins of a match that is not followed by an allocation are dropped at
        // the end of the step's scheduling (buildMetadata).
        for (long h : run) {
            if (host != null && host.contains(h)) {
                host.pin(h);
            }
        }
        long[] previous = matched.put(request.requestId(), run);
        if (previous != null) {
            unpinAll(previous);
        }
        return new MatchedTokens(n * bs, false, !allHost, true);
    }

    @Override
    public void afterAllocation(ConnectorRequest request, int[] blockIds, int computedTokens, int externalTokens) {
        long[] run = matched.remove(request.requestId());
        if (run == null) {
            return;
        }
        int bs = context.store().layout().blockSize();
        int first = computedTokens / bs;
        int count = Math.min(run.length, (externalTokens + bs - 1) / bs);
        List<Load> loads = new ArrayList<>(count);
        boolean allHost = true;
        for (int i = 0; i < count; i++) {
            loads.add(new Load(run[i], blockIds[first + i]));
            if (host == null || !host.contains(run[i])) {
                allHost = false;
            }
        }
        hits += count;
        // Blocks of the run beyond what the scheduler took stay unused: unpin them now.
        for (int i = count; i < run.length; i++) {
            if (host != null && host.contains(run[i])) {
                host.unpin(run[i]);
            }
        }
        if (allHost) {
            planned.addAll(loads); // pinned since the match; unpinned once copied
            return;
        }
        // Some blocks are on disk: the whole run loads on the disk tier's thread, its host blocks pinned meanwhile.
        Map<Long, MemorySegment> pinned = new HashMap<>();
        for (Load l : loads) {
            if (host != null && host.contains(l.hash())) {
                pinned.put(l.hash(), host.pin(l.hash()));
                host.unpin(l.hash()); // the match's pin is now the load's
            }
        }
        KvBlockStore store = context.store();
        String id = request.requestId();
        disk.submit(() -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(store.layout().bytesPerBlock());
                for (Load l : loads) {
                    MemorySegment src = pinned.get(l.hash());
                    boolean ok;
                    if (src != null) {
                        store.writeBlock(l.block(), src);
                        ok = true;
                    } else {
                        ok = disk.read(l.hash(), buf);
                        if (ok) {
                            store.writeBlock(l.block(), buf);
                        }
                    }
                    if (!ok) {
                        failed.add(l.block());
                    }
                }
            } catch (RuntimeException e) {
                loads.forEach(l -> failed.add(l.block()));
            } finally {
                unpin.addAll(pinned.keySet());
                received.add(id);
                context.wakeup().run();
            }
        });
    }

    @Override
    public ConnectorMetadata buildMetadata() {
        for (long[] run : matched.values()) {
            unpinAll(run);
        }
        matched.clear();
        if (planned.isEmpty()) {
            return ConnectorMetadata.EMPTY;
        }
        Plan p = new Plan(List.copyOf(planned));
        planned.clear();
        return p;
    }

    @Override
    public void startLoad(ConnectorMetadata metadata) {
        if (metadata instanceof Plan p) {
            KvBlockStore store = context.store();
            for (Load l : p.loads()) {
                store.writeBlock(l.block(), host.memoryOf(l.hash()));
                host.unpin(l.hash()); // the match's pin
            }
        }
    }

    @Override
    public FinishedTransfers finished() {
        drainUnpins();
        if (received.isEmpty()) {
            return FinishedTransfers.NONE;
        }
        Set<String> r = new HashSet<>();
        String id;
        while ((id = received.poll()) != null) {
            r.add(id);
        }
        return new FinishedTransfers(Set.of(), r);
    }

    @Override
    public Set<Integer> failedBlockLoads() {
        if (failed.isEmpty()) {
            return Set.of();
        }
        Set<Integer> out = new HashSet<>();
        Integer b;
        while ((b = failed.poll()) != null) {
            out.add(b);
        }
        return out;
    }

    private void unpinAll(long[] run) {
        if (host == null) {
            return;
        }
        for (long h : run) {
            if (host.contains(h)) {
                host.unpin(h);
            }
        }
    }

    private void drainUnpins() {
        Long h;
        while ((h = unpin.poll()) != null) {
            if (host != null) {
                host.unpin(h);
            }
        }
    }

    @Override
    public void close() {
        if (disk != null) {
            disk.close();
        }
        if (host != null) {
            host.close();
        }
    }
}
