package dev.tandem.adapters.kvevents;

import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns vLLM's KV events into Tandem's. The router's index is keyed by Tandem's chained block hashes
 * ({@link BlockHasher}), so a stored block's hash is recomputed from its tokens, chained to its parent's Tandem hash;
 * vLLM's own hash is kept only to resolve later removals and children. Blocks that are not plain token blocks (a
 * LoRA adapter, extra keys such as a cache salt or images) and every block chained below them are left out of
 * routing, never confused with plain blocks. Not thread-safe: its owner serialises calls.
 */
public final class KvEventTranslator {

    private final int blockSize;
    private final BlockHasher hasher = BlockHasher.unsalted();
    private final Map<Long, Long> tandemOf = new HashMap<>();
    private final Set<Long> unroutable = new HashSet<>();

    public KvEventTranslator(int blockSize) {
        this.blockSize = blockSize;
    }

    public List<KvEvent> translate(List<VllmEvent> events) {
        List<KvEvent> out = new ArrayList<>();
        for (VllmEvent e : events) {
            switch (e) {
                case VllmEvent.Stored s -> stored(s, out);
                case VllmEvent.Removed r -> removed(r, out);
                case VllmEvent.Cleared c -> {
                    clear();
                    out.add(new KvEvent.AllBlocksCleared());
                }
            }
        }
        return out;
    }

    private void stored(VllmEvent.Stored s, List<KvEvent> out) {
        Long parent = null;
        boolean routable =
                s.plain() && s.blockSize() == blockSize && s.tokens().length >= s.hashes().length * blockSize;
        if (routable && s.parent() != null) {
            parent = tandemOf.get(s.parent());
            routable = parent != null; // a parent we never saw or could not route: no chain to hang these on
        }
        if (!routable) {
            for (long h : s.hashes()) {
                unroutable.add(h);
                tandemOf.remove(h);
            }
            return;
        }
        long[] tandem = new long[s.hashes().length];
        Long prev = parent;
        for (int i = 0; i < tandem.length; i++) {
            long local = hasher.localHash(s.tokens(), i * blockSize, blockSize);
            tandem[i] = prev == null ? local : hasher.chain(prev, local);
            prev = tandem[i];
            tandemOf.put(s.hashes()[i], tandem[i]);
            unroutable.remove(s.hashes()[i]);
        }
        out.add(new KvEvent.BlockStored(parent, tandem));
    }

    private void removed(VllmEvent.Removed r, List<KvEvent> out) {
        List<Long> gone = new ArrayList<>();
        for (long h : r.hashes()) {
            unroutable.remove(h);
            Long t = tandemOf.remove(h);
            if (t != null) {
                gone.add(t);
            }
        }
        if (!gone.isEmpty()) {
            out.add(new KvEvent.BlockRemoved(
                    gone.stream().mapToLong(Long::longValue).toArray()));
        }
    }

    public void clear() {
        tandemOf.clear();
        unroutable.clear();
    }

    /** Tandem hashes of every block held now. */
    public long[] held() {
        return tandemOf.values().stream().mapToLong(Long::longValue).toArray();
    }
}
