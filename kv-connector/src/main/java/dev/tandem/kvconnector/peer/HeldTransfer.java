package dev.tandem.kvconnector.peer;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Blocks a finished request keeps for a peer. A transfer is pulled at most once: the pull takes it from HELD to
 * STREAMING, and only a HELD one can expire, so the engine never frees blocks a stream is still reading.
 */
final class HeldTransfer {

    static final int HELD = 0;
    static final int STREAMING = 1;
    static final int DONE = 2;

    final String requestId;
    final int[] blockIds;
    final int tokens;
    final long expiresAtNanos;
    final AtomicInteger state = new AtomicInteger(HELD);

    HeldTransfer(String requestId, int[] blockIds, int tokens, long expiresAtNanos) {
        this.requestId = requestId;
        this.blockIds = blockIds;
        this.tokens = tokens;
        this.expiresAtNanos = expiresAtNanos;
    }
}
