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

    /** Where the sequence is in its life. */
    public enum Status {
        WAITING,
        RUNNING,
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
