package dev.tandem.engine.scheduler;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.engine.util.IntList;

/**
 * One request's state inside the scheduler: its tokens (prompt then generated), how many of them have KV computed,
 * its block table and the chained hashes of its full blocks. Owned by the scheduling thread.
 */
public final class Sequence {

    /**
     * Where the sequence is in its life: {@code WAITING} → ({@code WAITING_FOR_REMOTE_KV} → {@code WAITING}) →
     * {@code RUNNING} (→ {@code WAITING} when preempted) → {@code FINISHED_HOLDING_BLOCKS} (a connector keeps its
     * KV for another worker) → {@code FINISHED}.
     */
    public enum Status {
        /** Queued for admission; holds blocks only when it came back from a remote load. */
        WAITING,
        /** Holds blocks into which a connector loads KV in the background; not scheduled until the load is done. */
        WAITING_FOR_REMOTE_KV,
        /** Admitted: scheduled every step until it finishes or is preempted. */
        RUNNING,
        /** Ended for its caller; its blocks stay allocated until a peer has pulled them or their lease expired. */
        FINISHED_HOLDING_BLOCKS,
        /** Ended; its blocks are freed. */
        FINISHED
    }

    private final GenerateRequest request;
    private final TokenListener listener;
    private final BlockHasher hasher;
    private final IntList tokens;
    private final IntList blocks = new IntList();
    private long[] hashes = new long[0];
    private int hashCount;
    private final long arrivalNanos;
    Status status = Status.WAITING;
    int computed;
    int committedBlocks;
    int cachedPromptTokens = -1;
    int preemptions;
    /** Whether the connector was asked about this sequence (only at its first admission). */
    boolean externalChecked;
    /** Tokens a connector loads in the background (while {@code WAITING_FOR_REMOTE_KV}). */
    int pendingExternal;
    /** Whether the pending tokens are a cache hit (a tier, a peer's cache) rather than a transfer of fresh KV. */
    boolean pendingExternalIsCache;
    /** Prompt tokens whose KV arrived from another worker instead of being computed. */
    int transferredTokens;
    /** Cancelled while its load was in flight: freed when the load ends. */
    boolean cancelledDuringLoad;

    FinishReason finishReason;
    /** Sampling state of compute backends (the sim's rolling hash); opaque to the scheduler. */
    public long backendState;
    /** Per-sequence state a compute backend keeps (a sampler's random generator); opaque to the scheduler. */
    public Object backendData;

    public Sequence(GenerateRequest request, TokenListener listener, long arrivalNanos) {
        this.request = request;
        this.listener = listener;
        this.hasher = BlockHasher.forSalt(request.cacheSalt());
        this.tokens = IntList.of(request.promptTokens());
        this.arrivalNanos = arrivalNanos;
    }

    public GenerateRequest request() {
        return request;
    }

    public String requestId() {
        return request.requestId();
    }

    public TokenListener listener() {
        return listener;
    }

    public Status status() {
        return status;
    }

    /** Ended for its caller (its blocks freed, or held for a peer). */
    public boolean isFinished() {
        return status == Status.FINISHED || status == Status.FINISHED_HOLDING_BLOCKS;
    }

    public int promptLength() {
        return request.promptLength();
    }

    /** Prompt plus generated tokens. */
    public int length() {
        return tokens.size();
    }

    public int generated() {
        return tokens.size() - request.promptLength();
    }

    /** Tokens whose KV is computed (and resident in this sequence's blocks). */
    public int computed() {
        return computed;
    }

    public int token(int position) {
        return tokens.get(position);
    }

    /** The token buffer; valid up to {@link #length()}. Not to be modified. */
    public int[] tokensRaw() {
        return tokens.raw();
    }

    public IntList blocks() {
        return blocks;
    }

    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** Prompt tokens served from the prefix cache at first admission (0 before it). */
    public int cachedPromptTokens() {
        return Math.max(0, cachedPromptTokens);
    }

    public int preemptions() {
        return preemptions;
    }

    public FinishReason finishReason() {
        return finishReason;
    }

    /** Prompt tokens whose KV another worker sent instead of this one computing it. */
    public int transferredTokens() {
        return transferredTokens;
    }

    void append(int token) {
        tokens.add(token);
    }

    /** Chained hashes of the first {@code n} full blocks (computing those not yet known). */
    long[] hashes(int n, int blockSize) {
        if (n > hashCount) {
            if (n > hashes.length) {
                hashes = java.util.Arrays.copyOf(hashes, Math.max(n, hashes.length * 2));
            }
            int[] t = tokens.raw();
            for (int i = hashCount; i < n; i++) {
                long local = hasher.localHash(t, i * blockSize, blockSize);
                hashes[i] = i == 0 ? local : hasher.chain(hashes[i - 1], local);
            }
            hashCount = n;
        }
        return hashes;
    }
}
