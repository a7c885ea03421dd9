package dev.tandem.kvconnector.peer;

import java.util.BitSet;

/**
 * Blocks a finished request keeps for a peer. Pulls may stream disjoint parts of it at once (the receiver stripes
 * large transfers over several connections); each block is streamed at most once. The transfer ends when every
 * block has been streamed and no stream is running, or when its lease expires with no stream running: so the
 * engine never frees blocks a stream is still reading.
 */
final class HeldTransfer {

    final String requestId;
    final int[] blockIds;
    final int tokens;
    final long expiresAtNanos;
    private final BitSet claimed = new BitSet();
    private int active;
    private boolean done;

    HeldTransfer(String requestId, int[] blockIds, int tokens, long expiresAtNanos) {
        this.requestId = requestId;
        this.blockIds = blockIds;
        this.tokens = tokens;
        this.expiresAtNanos = expiresAtNanos;
    }

    /** Claims {@code indexes} for one stream; false when the transfer ended or any of them was claimed already. */
    synchronized boolean claim(java.util.List<Integer> indexes) {
        if (done) {
            return false;
        }
        for (int i : indexes) {
            if (i < 0 || i >= blockIds.length || claimed.get(i)) {
                return false;
            }
        }
        indexes.forEach(claimed::set);
        active++;
        return true;
    }

    /**
     * A stream ended; true when this ended the transfer. A stream that failed ends it too (the receiver recomputes
     * what is missing; nothing else will pull the rest).
     */
    synchronized boolean release(boolean completed) {
        active--;
        if (!done && active == 0 && (!completed || claimed.cardinality() == blockIds.length)) {
            done = true;
            return true;
        }
        return false;
    }

    /** Ends an expired transfer that no stream is reading; true when it did. */
    synchronized boolean expire(long nowNanos) {
        if (!done && active == 0 && nowNanos - expiresAtNanos > 0) {
            done = true;
            return true;
        }
        return false;
    }
}
