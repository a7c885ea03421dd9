package dev.tandem.engine.scheduler;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.api.engine.Usage;
import dev.tandem.engine.kv.KvBlockManager;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * Continuous batching over a paged, prefix-cached KV store.
 *
 * <p>Each step spends a token budget: running sequences first (decodes and unfinished prefill chunks, oldest first),
 * then waiting sequences are admitted in arrival order while budget, sequence slots and blocks last. A prompt is
 * prefilled in chunks when it exceeds the remaining budget. Admission first reuses the longest cached prefix (always
 * leaving at least one token to compute, whose logits give the first generated token). When a running sequence
 * needs a block and none is free, the newest running sequence is preempted: its blocks are freed (they stay in the
 * prefix cache until reused) and it is recomputed later from its prompt plus the tokens generated so far.
 *
 * <p>Not thread-safe: owned by one engine's scheduling thread.
 */
public final class Scheduler {

    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final SchedulerConfig config;
    private final KvBlockManager blocks;
    private final Set<Integer> eosTokenIds;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();

    public Scheduler(SchedulerConfig config, Set<Integer> eosTokenIds) {
        this.config = config;
        this.blocks = new KvBlockManager(config.kvBlocks(), config.blockSize());
        this.eosTokenIds = Set.copyOf(eosTokenIds);
    }

    private long preemptions;

    /** Preemptions since this scheduler started. */
    public long preemptions() {
        return preemptions;
    }

    public SchedulerConfig config() {
        return config;
    }

    public KvBlockManager blockManager() {
        return blocks;
    }

    public void add(Sequence seq) {
        waiting.addLast(seq);
    }

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    public int runningCount() {
        return running.size();
    }

    public int waitingCount() {
        return waiting.size();
    }

    /** Prompt (or recompute) tokens of admitted and waiting sequences not yet computed. */
    public long pendingPrefillTokens() {
        long p = 0;
        for (Sequence s : running) {
            // A decoding sequence's one uncomputed position is its last generated token, not prefill.
            boolean decoding = s.generated() > 0 && s.computed() == s.length() - 1;
            p += decoding ? 0 : s.length() - s.computed();
        }
        for (Sequence s : waiting) {
            p += s.length() - s.computed();
        }
        return p;
    }

    /** Plans the next step. An empty plan means nothing can run now. */
    public StepPlan schedule() {
        int budget = config.maxNumBatchedTokens();
        List<ScheduledChunk> chunks = new ArrayList<>();
        int prefill = 0;
        int decodes = 0;
        boolean preempted = false;

        for (int i = 0; i < running.size() && budget > 0; ) {
            Sequence seq = running.get(i);
            int n = Math.min(seq.length() - seq.computed(), budget);
            int need = blocksFor(seq.computed() + n) - seq.blocks().size();
            boolean self = false;
            while (need > blocks.freeBlocks()) {
                Sequence victim = running.removeLast();
                preempt(victim);
                preempted = true;
                if (victim == seq) {
                    self = true;
                    break;
                }
            }
            if (self) {
                break;
            }
            blocks.allocate(seq.blocks(), need);
            boolean decode = seq.generated() > 0 && seq.computed() == seq.length() - 1;
            chunks.add(new ScheduledChunk(seq, seq.computed(), n, seq.computed() + n == seq.length(), decode));
            if (decode) {
                decodes++;
            } else {
                prefill += n;
            }
            budget -= n;
            i++;
        }

        // Admitting while running sequences are being preempted for space would only thrash.
        while (!preempted && budget > 0 && !waiting.isEmpty() && running.size() < config.maxNumSeqs()) {
            Sequence seq = waiting.peekFirst();
            int bs = config.blockSize();
            int full = seq.length() / bs;
            long[] hashes = seq.hashes(full, bs);
            int cached = blocks.cachedPrefixLength(hashes, (seq.length() - 1) / bs);
            int start = cached * bs;
            int n = Math.min(seq.length() - start, budget);
            int fresh = blocksFor(start + n) - cached;
            if (fresh + blocks.freeAmongCached(hashes, cached) > blocks.freeBlocks()) {
                break;
            }
            waiting.removeFirst();
            blocks.acquireCached(seq.blocks(), hashes, cached);
            blocks.allocate(seq.blocks(), fresh);
            seq.computed = start;
            seq.committedBlocks = cached;
            if (seq.cachedPromptTokens < 0) {
                seq.cachedPromptTokens = Math.min(start, seq.promptLength());
            }
            seq.status = Sequence.Status.RUNNING;
            running.add(seq);
            chunks.add(new ScheduledChunk(seq, start, n, start + n == seq.length(), false));
            prefill += n;
            budget -= n;
        }
        return new StepPlan(chunks, prefill, decodes, blocks.usedBlocks(), blocks.totalBlocks());
    }

    /**
     * Applies a computed step: advances each chunk's sequence, registers newly full blocks in the prefix cache,
     * appends sampled tokens, checks stop conditions and sends each sequence its delta.
     */
    public void complete(StepPlan plan, int[] sampled) {
        complete(plan, sampled, null);
    }

    /** As {@link #complete(StepPlan, int[])}, attaching each sampled token's log-probability when there is one. */
    public void complete(StepPlan plan, int[] sampled, TokenLogprob[] logprobs) {
        int s = 0;
        int bs = config.blockSize();
        for (ScheduledChunk c : plan.chunks()) {
            Sequence seq = c.sequence();
            if (seq.status != Sequence.Status.RUNNING) {
                if (c.samples()) {
                    s++;
                }
                continue;
            }
            seq.computed = c.start() + c.tokens();
            commitFullBlocks(seq, bs);
            if (!c.samples()) {
                continue;
            }
            TokenLogprob lp = logprobs == null ? null : logprobs[s];
            int token = sampled[s++];
            seq.append(token);
            FinishReason reason = stopReason(seq, token);
            if (reason == null) {
                // The first delta also carries a provisional usage: the cached prompt tokens are known from
                // admission, and a caller that cancels early (a stop string) gets no final delta over some transports.
                TokenDelta delta = new TokenDelta(
                        new int[] {token},
                        null,
                        seq.generated() == 1 ? usage(seq) : null,
                        lp == null ? null : List.of(lp));
                if (!deliver(seq, delta)) {
                    finish(seq, FinishReason.CANCELLED, null);
                }
            } else {
                finish(seq, reason, new int[] {token}, lp);
            }
        }
        running.removeIf(q -> q.status == Sequence.Status.FINISHED);
    }

    /** Removes a sequence wherever it is and frees its blocks; the listener gets a CANCELLED final delta. */
    public boolean abort(String requestId) {
        for (Sequence seq : running) {
            if (seq.requestId().equals(requestId)) {
                finish(seq, FinishReason.CANCELLED, null);
                running.remove(seq);
                return true;
            }
        }
        for (Sequence seq : waiting) {
            if (seq.requestId().equals(requestId)) {
                waiting.remove(seq);
                finish(seq, FinishReason.CANCELLED, null);
                return true;
            }
        }
        return false;
    }

    /** Ends every sequence with {@code reason} (engine shutdown). */
    public void abortAll(FinishReason reason) {
        for (Sequence seq : List.copyOf(running)) {
            finish(seq, reason, null);
        }
        running.clear();
        while (!waiting.isEmpty()) {
            finish(waiting.removeFirst(), reason, null);
        }
    }

    private FinishReason stopReason(Sequence seq, int token) {
        var stop = seq.request().stop();
        int generated = seq.generated();
        if (generated >= stop.minTokens()) {
            if (!stop.ignoreEos() && eosTokenIds.contains(token)) {
                return FinishReason.STOP;
            }
            if (stop.stopTokenIds().contains(token)) {
                return FinishReason.STOP;
            }
        }
        // Beyond the KV capacity the sequence could never be scheduled again: it would wait forever.
        if (generated >= stop.maxTokens()
                || seq.length() >= config.contextLength()
                || seq.length() > (long) config.kvBlocks() * config.blockSize()) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    private void finish(Sequence seq, FinishReason reason, int[] lastTokens) {
        finish(seq, reason, lastTokens, null);
    }

    private void finish(Sequence seq, FinishReason reason, int[] lastTokens, TokenLogprob lp) {
        seq.status = Sequence.Status.FINISHED;
        seq.finishReason = reason;
        blocks.free(seq.blocks());
        deliver(
                seq,
                new TokenDelta(
                        lastTokens == null ? new int[0] : lastTokens,
                        reason,
                        usage(seq),
                        lp == null ? null : List.of(lp)));
    }

    private static Usage usage(Sequence seq) {
        return new Usage(seq.promptLength(), seq.cachedPromptTokens(), seq.generated());
    }

    /**
     * Hands a delta to the sequence's listener. A listener that throws is a bug of its caller, not of the engine:
     * it is logged and its request ends, while every other request goes on.
     */
    private static boolean deliver(Sequence seq, TokenDelta delta) {
        try {
            seq.listener().onDelta(delta);
            return true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "listener of " + seq.requestId() + " failed; ending it", e);
            return false;
        }
    }

    private void preempt(Sequence seq) {
        blocks.free(seq.blocks());
        seq.computed = 0;
        seq.committedBlocks = 0;
        seq.preemptions++;
        preemptions++;
        seq.status = Sequence.Status.WAITING;
        waiting.addFirst(seq);
    }

    private void commitFullBlocks(Sequence seq, int bs) {
        int full = seq.computed() / bs;
        long[] hashes = seq.hashes(full, bs);
        for (int i = seq.committedBlocks; i < full; i++) {
            blocks.commitFull(seq.blocks().get(i), hashes[i], i == 0 ? null : hashes[i - 1]);
        }
        seq.committedBlocks = Math.max(seq.committedBlocks, full);
    }

    private int blocksFor(int tokens) {
        return (tokens + config.blockSize() - 1) / config.blockSize();
    }
}
