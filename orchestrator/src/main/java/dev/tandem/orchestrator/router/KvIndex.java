package dev.tandem.orchestrator.router;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which worker holds which prefix block: chained block hash → workers, fed by the workers' KV events.
 *
 * <p>Because hashes are chained, a block hash stands for its whole prefix, so the overlap of a request with a
 * worker is the number of leading request hashes the worker holds. Reads run concurrently with updates; updates of
 * one worker must come from one thread in event-id order (the event plane delivers them so). A batch whose id is not
 * the successor of the last one applied reveals lost events: {@link #apply} reports the gap and the caller re-syncs
 * the worker from a {@link KvStateDump}.
 *
 * <p>Blocks in a worker's lower tiers (host memory, disk: events with a medium) are indexed apart: {@link #overlaps}
 * counts the primary cache only, {@link #tierHits} what a worker would load back from its tiers after that prefix.
 * A re-sync dump covers the primary cache, so it forgets the worker's tier blocks until they are announced again.
 */
public final class KvIndex implements PrefixIndex {

    /** One medium's hash → workers and worker → hashes. */
    private static final class BlockSets {
        final Map<Long, Set<String>> workersByBlock = new ConcurrentHashMap<>();
        final Map<String, Set<Long>> blocksByWorker = new ConcurrentHashMap<>();

        void add(String w, long h) {
            workersByBlock
                    .computeIfAbsent(h, k -> ConcurrentHashMap.newKeySet())
                    .add(w);
            blocksByWorker
                    .computeIfAbsent(w, k -> ConcurrentHashMap.newKeySet())
                    .add(h);
        }

        void remove(String w, long h) {
            workersByBlock.computeIfPresent(h, (k, set) -> {
                set.remove(w);
                return set.isEmpty() ? null : set;
            });
            Set<Long> mine = blocksByWorker.get(w);
            if (mine != null) {
                mine.remove(h);
            }
        }

        void clear(String w) {
            Set<Long> mine = blocksByWorker.get(w);
            if (mine != null) {
                for (long h : Set.copyOf(mine)) {
                    remove(w, h);
                }
            }
        }

        boolean holds(String w, long h) {
            Set<String> holders = workersByBlock.get(h);
            return holders != null && holders.contains(w);
        }
    }

    private final BlockSets primary = new BlockSets();
    /** Lower tiers by medium name; empty until a worker announces one. */
    private final Map<String, BlockSets> tiers = new ConcurrentHashMap<>();

    private final Map<String, Long> lastEventId = new ConcurrentHashMap<>();
    private final Map<String, Long> incarnations = new ConcurrentHashMap<>();

    /** Applies a batch; returns false (and applies nothing) when it does not follow the last batch applied. */
    public boolean apply(KvEventBatch batch) {
        String w = batch.workerId();
        if (batch.incarnation() != 0) {
            Long known = incarnations.put(w, batch.incarnation());
            if (known != null && known != batch.incarnation()) {
                // the worker restarted under the same id: its old blocks are gone and its ids start again
                clearAll(w);
                lastEventId.remove(w);
            }
        }
        Long last = lastEventId.get(w);
        if (last != null && batch.eventId() <= last) {
            return true; // a duplicate or a batch already covered by a dump
        }
        if ((last == null && batch.eventId() != 1) || (last != null && batch.eventId() != last + 1)) {
            return false;
        }
        for (KvEvent e : batch.events()) {
            switch (e) {
                case KvEvent.BlockStored s -> {
                    BlockSets sets = sets(s.medium());
                    for (long h : s.blockHashes()) {
                        sets.add(w, h);
                    }
                }
                case KvEvent.BlockRemoved r -> {
                    BlockSets sets = sets(r.medium());
                    for (long h : r.blockHashes()) {
                        sets.remove(w, h);
                    }
                }
                case KvEvent.AllBlocksCleared c -> clearAll(w);
            }
        }
        lastEventId.put(w, batch.eventId());
        return true;
    }

    private BlockSets sets(String medium) {
        return medium == null ? primary : tiers.computeIfAbsent(medium, m -> new BlockSets());
    }

    /** Replaces everything known of a worker with a dump of its cache. */
    public void reset(KvStateDump dump) {
        clearAll(dump.workerId());
        for (long h : dump.blockHashes()) {
            primary.add(dump.workerId(), h);
        }
        lastEventId.put(dump.workerId(), dump.lastEventId());
    }

    /** Forgets a departed worker. */
    @Override
    public void removeWorker(String workerId) {
        clearAll(workerId);
        primary.blocksByWorker.remove(workerId);
        tiers.values().forEach(t -> t.blocksByWorker.remove(workerId));
        lastEventId.remove(workerId);
        incarnations.remove(workerId);
    }

    /** For each candidate, how many leading entries of {@code hashes} it holds (absent = 0). */
    @Override
    public Map<String, Integer> overlaps(long[] hashes, Collection<String> candidates) {
        Map<String, Integer> out = new HashMap<>();
        Set<String> alive = new HashSet<>(candidates);
        for (int i = 0; i < hashes.length && !alive.isEmpty(); i++) {
            Set<String> holders = primary.workersByBlock.get(hashes[i]);
            if (holders == null) {
                break;
            }
            alive.retainAll(holders);
            for (String w : alive) {
                out.put(w, i + 1);
            }
        }
        return out;
    }

    /**
     * For each candidate, the blocks of {@code hashes} after its primary overlap that it holds in a lower tier
     * (consecutively, each in any tier), each counted as {@code weights.get(medium)} of a primary hit (absent
     * media count 0); empty when no worker has announced a tier.
     */
    public Map<String, Double> tierHits(
            long[] hashes,
            Map<String, Integer> primaryOverlaps,
            Collection<String> candidates,
            Map<String, Double> weights) {
        if (tiers.isEmpty()) {
            return Map.of();
        }
        Map<String, Double> out = new HashMap<>();
        for (String w : candidates) {
            double hits = 0;
            for (int i = primaryOverlaps.getOrDefault(w, 0); i < hashes.length; i++) {
                double best = -1;
                for (var t : tiers.entrySet()) {
                    if (t.getValue().holds(w, hashes[i])) {
                        best = Math.max(best, weights.getOrDefault(t.getKey(), 0.0));
                    }
                }
                if (best < 0) {
                    break;
                }
                hits += best;
            }
            if (hits > 0) {
                out.put(w, hits);
            }
        }
        return out;
    }

    /** Blocks indexed in a worker's primary cache. */
    @Override
    public int blockCount(String workerId) {
        Set<Long> s = primary.blocksByWorker.get(workerId);
        return s == null ? 0 : s.size();
    }

    /** Blocks indexed in one of a worker's lower tiers. */
    public int tierBlockCount(String workerId, String medium) {
        BlockSets t = tiers.get(medium);
        Set<Long> s = t == null ? null : t.blocksByWorker.get(workerId);
        return s == null ? 0 : s.size();
    }

    private void clearAll(String w) {
        primary.clear(w);
        tiers.values().forEach(t -> t.clear(w));
    }
}
