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
 */
public final class KvIndex implements PrefixIndex {

    private final Map<Long, Set<String>> workersByBlock = new ConcurrentHashMap<>();
    private final Map<String, Set<Long>> blocksByWorker = new ConcurrentHashMap<>();
    private final Map<String, Long> lastEventId = new ConcurrentHashMap<>();
    private final Map<String, Long> incarnations = new ConcurrentHashMap<>();

    /** Applies a batch; returns false (and applies nothing) when it does not follow the last batch applied. */
    public boolean apply(KvEventBatch batch) {
        String w = batch.workerId();
        if (batch.incarnation() != 0) {
            Long known = incarnations.put(w, batch.incarnation());
            if (known != null && known != batch.incarnation()) {
                // the worker restarted under the same id: its old blocks are gone and its ids start again
                clear(w);
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
                    for (long h : s.blockHashes()) {
                        add(w, h);
                    }
                }
                case KvEvent.BlockRemoved r -> {
                    for (long h : r.blockHashes()) {
                        remove(w, h);
                    }
                }
                case KvEvent.AllBlocksCleared c -> clear(w);
            }
        }
        lastEventId.put(w, batch.eventId());
        return true;
    }

    /** Replaces everything known of a worker with a dump of its cache. */
    public void reset(KvStateDump dump) {
        clear(dump.workerId());
        for (long h : dump.blockHashes()) {
            add(dump.workerId(), h);
        }
        lastEventId.put(dump.workerId(), dump.lastEventId());
    }

    /** Forgets a departed worker. */
    @Override
    public void removeWorker(String workerId) {
        clear(workerId);
        blocksByWorker.remove(workerId);
        lastEventId.remove(workerId);
        incarnations.remove(workerId);
    }

    /** For each candidate, how many leading entries of {@code hashes} it holds (absent = 0). */
    @Override
    public Map<String, Integer> overlaps(long[] hashes, Collection<String> candidates) {
        Map<String, Integer> out = new HashMap<>();
        Set<String> alive = new HashSet<>(candidates);
        for (int i = 0; i < hashes.length && !alive.isEmpty(); i++) {
            Set<String> holders = workersByBlock.get(hashes[i]);
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

    /** Blocks indexed for a worker. */
    @Override
    public int blockCount(String workerId) {
        Set<Long> s = blocksByWorker.get(workerId);
        return s == null ? 0 : s.size();
    }

    private void add(String w, long h) {
        workersByBlock.computeIfAbsent(h, k -> ConcurrentHashMap.newKeySet()).add(w);
        blocksByWorker.computeIfAbsent(w, k -> ConcurrentHashMap.newKeySet()).add(h);
    }

    private void remove(String w, long h) {
        workersByBlock.computeIfPresent(h, (k, set) -> {
            set.remove(w);
            return set.isEmpty() ? null : set;
        });
        Set<Long> mine = blocksByWorker.get(w);
        if (mine != null) {
            mine.remove(h);
        }
    }

    private void clear(String w) {
        Set<Long> mine = blocksByWorker.get(w);
        if (mine != null) {
            for (long h : Set.copyOf(mine)) {
                remove(w, h);
            }
        }
    }
}
