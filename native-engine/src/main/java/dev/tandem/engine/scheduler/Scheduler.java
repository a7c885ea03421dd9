package dev.tandem.engine.scheduler;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.kv.connector.ConnectorMetadata;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.FinishedRequest;
import dev.tandem.api.kv.connector.FinishedTransfers;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.MatchedTokens;
import dev.tandem.engine.kv.KvBlockManager;
import dev.tandem.engine.util.IntList;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * <p>With a {@link KvConnector}, admission also asks it for tokens beyond the local prefix (a memory tier, a peer, a
 * prefill worker's KV). A synchronous load is computed-over at once (the connector copies during the step); an
 * asynchronous one parks the sequence in {@code WAITING_FOR_REMOTE_KV} with its blocks allocated until the
 * connector reports it received; blocks whose load failed are recomputed. A finished sequence whose KV a peer will
 * pull keeps its blocks until the connector reports it sent (or its lease expired).
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
    private final KvConnector connector;
    /** Sequences whose KV a connector loads in the background, by request id. */
    private final Map<String, Sequence> loading = new LinkedHashMap<>();
    /** Blocks of finished sequences kept for a peer, by request id. */
    private final Map<String, IntList> held = new HashMap<>();
    /** Blocks whose load failed, reported by the connector and not yet matched to their sequence. */
    private final Set<Integer> failedLoads = new HashSet<>();

    public Scheduler(SchedulerConfig config, Set<Integer> eosTokenIds) {
        this(config, new KvBlockManager(config.kvBlocks(), config.blockSize()), eosTokenIds, null);
    }

    /**
     * @param blocks the block manager (sized as {@code config} says)
     * @param connector moves KV to and from elsewhere; null for none
     */
    public Scheduler(SchedulerConfig config, KvBlockManager blocks, Set<Integer> eosTokenIds, KvConnector connector) {
        if (blocks.totalBlocks() != config.kvBlocks() || blocks.blockSize() != config.blockSize()) {
            throw new IllegalArgumentException("the block manager does not match the scheduler config");
        }
        this.config = config;
        this.blocks = blocks;
        this.eosTokenIds = Set.copyOf(eosTokenIds);
        this.connector = connector;
        if (connector != null) {
            blocks.onEviction(connector::onBlockEvicted);
        }
    }

    public KvConnector connector() {
        return connector;
    }

    /** Sequences waiting for a background KV load. */
    public int loadingCount() {
        return loading.size();
    }

    /** Finished sequences whose blocks are kept for a peer. */
    public int heldCount() {
        return held.size();
    }

    private long preemptions;
    private long prefixQueryTokens;
    private long prefixHitTokens;

    /** Prompt tokens looked up in the prefix cache (each sequence once, at its first admission). */
    public long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    /** Of those, tokens found in the local cache or loaded as a cache hit through the connector. */
    public long prefixHitTokens() {
        return prefixHitTokens;
    }

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
        return !waiting.isEmpty() || !running.isEmpty() || !loading.isEmpty();
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
        applyTransfers();
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
        Iterator<Sequence> it = waiting.iterator();
        while (!preempted && budget > 0 && it.hasNext() && running.size() < config.maxNumSeqs()) {
            Sequence seq = it.next();
            int bs = config.blockSize();
            if (!seq.blocks().isEmpty()) {
                // Back from a background load: its blocks and computed tokens are in place.
                int n = Math.min(seq.length() - seq.computed(), budget);
                int need = blocksFor(seq.computed() + n) - seq.blocks().size();
                if (need > blocks.freeBlocks()) {
                    break;
                }
                it.remove();
                blocks.allocate(seq.blocks(), need);
                seq.status = Sequence.Status.RUNNING;
                running.add(seq);
                chunks.add(new ScheduledChunk(seq, seq.computed(), n, seq.computed() + n == seq.length(), false));
                prefill += n;
                budget -= n;
                continue;
            }
            int full = seq.length() / bs;
            long[] hashes = seq.hashes(full, bs);
            int cached = blocks.cachedPrefixLength(hashes, (seq.length() - 1) / bs);
            int start = cached * bs;
            MatchedTokens match = MatchedTokens.NONE;
            if (connector != null && !seq.externalChecked) {
                match = connector.matchedTokens(request(seq, start, hashes, full), start);
                if (match.unknownYet()) {
                    continue; // asked again at a later step; the sequences behind it go on
                }
            }
            // At least one token is always computed: its logits give the next token.
            int external = Math.min(match.tokens(), seq.length() - 1 - start);
            if (external > 0 && match.async()) {
                int need = blocksFor(start + external) - cached;
                if (need + blocks.freeAmongCached(hashes, cached) > blocks.freeBlocks()) {
                    break;
                }
                it.remove();
                blocks.acquireCached(seq.blocks(), hashes, cached);
                blocks.allocate(seq.blocks(), need);
                admitted(seq, start, cached, match.cacheHit() ? external : 0);
                seq.pendingExternal = external;
                seq.pendingExternalIsCache = match.cacheHit();
                seq.status = Sequence.Status.WAITING_FOR_REMOTE_KV;
                loading.put(seq.requestId(), seq);
                connector.afterAllocation(
                        request(seq, start, hashes, full), seq.blocks().toArray(), start, external);
                continue;
            }
            int from = start + Math.max(0, external);
            int n = Math.min(seq.length() - from, budget);
            int fresh = blocksFor(from + n) - cached;
            if (fresh + blocks.freeAmongCached(hashes, cached) > blocks.freeBlocks()) {
                break;
            }
            it.remove();
            blocks.acquireCached(seq.blocks(), hashes, cached);
            blocks.allocate(seq.blocks(), fresh);
            admitted(seq, start, cached, match.cacheHit() ? external : 0);
            if (external > 0) {
                // A synchronous load: the connector copies the blocks in this step's startLoad, before the forward.
                connector.afterAllocation(
                        request(seq, start, hashes, full), seq.blocks().toArray(), start, external);
                seq.computed = from;
                if (!match.cacheHit()) {
                    seq.transferredTokens += Math.min(external, seq.promptLength() - start);
                }
            }
            seq.status = Sequence.Status.RUNNING;
            running.add(seq);
            chunks.add(new ScheduledChunk(seq, from, n, from + n == seq.length(), false));
            prefill += n;
            budget -= n;
        }
        ConnectorMetadata meta = connector == null ? ConnectorMetadata.EMPTY : connector.buildMetadata();
        return new StepPlan(chunks, prefill, decodes, blocks.usedBlocks(), blocks.totalBlocks(), meta);
    }

    /** First admission bookkeeping: cached prefix acquired, the connector asked. */
    private void admitted(Sequence seq, int start, int cachedBlocks, int cacheHitTokens) {
        seq.externalChecked = true;
        seq.computed = start;
        seq.committedBlocks = cachedBlocks;
        if (seq.cachedPromptTokens < 0) {
            seq.cachedPromptTokens = Math.min(start + cacheHitTokens, seq.promptLength());
            prefixQueryTokens += seq.promptLength();
            prefixHitTokens += seq.cachedPromptTokens;
        }
    }

    private ConnectorRequest request(Sequence seq, int computed, long[] hashes, int hashedBlocks) {
        return new ConnectorRequest(
                seq.requestId(),
                seq.tokensRaw(),
                seq.length(),
                seq.promptLength(),
                computed,
                java.util.Arrays.copyOf(hashes, Math.min(hashedBlocks, hashes.length)),
                seq.request().kvTransferParams());
    }

    /**
     * Applies the connector's completed transfers: frees the blocks of finished sequences a peer has pulled, and
     * returns sequences whose background load ended to the head of the queue, with the tokens of any failed block
     * (and everything after it) left to compute. Called at the start of every step and by an idle engine.
     */
    public void applyTransfers() {
        if (connector == null) {
            return;
        }
        FinishedTransfers done = connector.finished();
        failedLoads.addAll(connector.failedBlockLoads());
        if (done.isEmpty()) {
            return;
        }
        for (String id : done.sent()) {
            IntList table = held.remove(id);
            if (table != null) {
                blocks.free(table);
            }
        }
        List<Sequence> back = new ArrayList<>();
        for (String id : done.received()) {
            Sequence seq = loading.remove(id);
            if (seq == null) {
                continue;
            }
            int bs = config.blockSize();
            int first = seq.computed() / bs;
            int last = blocksFor(seq.computed() + seq.pendingExternal);
            int loaded = seq.pendingExternal;
            for (int b = first; b < last; b++) {
                if (failedLoads.remove(seq.blocks().get(b))) {
                    loaded = Math.max(0, b * bs - seq.computed());
                    for (int r = b + 1; r < last; r++) {
                        failedLoads.remove(seq.blocks().get(r));
                    }
                    break;
                }
            }
            if (seq.cancelledDuringLoad) {
                blocks.free(seq.blocks());
                continue;
            }
            if (seq.pendingExternalIsCache) {
                seq.cachedPromptTokens =
                        Math.min(seq.cachedPromptTokens - seq.pendingExternal + loaded, seq.promptLength());
            } else {
                seq.transferredTokens += Math.min(loaded, seq.promptLength() - seq.computed());
            }
            seq.computed += loaded;
            seq.pendingExternal = 0;
            commitFullBlocks(seq, bs);
            // Blocks past the loaded tokens (a failed load) are recomputed into the same blocks.
            seq.status = Sequence.Status.WAITING;
            back.add(seq);
            // The caller learns that the KV is in place (and how much of it arrived) before the first token.
            deliver(seq, new TokenDelta(new int[0], null, usage(seq), null));
        }
        for (int i = back.size() - 1; i >= 0; i--) {
            waiting.addFirst(back.get(i));
        }
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
        running.removeIf(Sequence::isFinished);
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
        Sequence seq = loading.get(requestId);
        if (seq != null && !seq.cancelledDuringLoad) {
            cancelLoading(seq, FinishReason.CANCELLED);
            return true;
        }
        return false;
    }

    /**
     * Ends a sequence whose load is in flight: its caller hears now, its blocks stay allocated until the connector
     * reports the load ended (the connector may still be writing them).
     */
    private void cancelLoading(Sequence seq, FinishReason reason) {
        seq.cancelledDuringLoad = true;
        seq.finishReason = reason;
        deliver(seq, new TokenDelta(new int[0], reason, usage(seq), null));
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
        for (Sequence seq : loading.values()) {
            if (!seq.cancelledDuringLoad) {
                cancelLoading(seq, reason);
            }
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
        seq.finishReason = reason;
        FinishedRequest kept = FinishedRequest.RELEASE;
        if (connector != null && !seq.blocks().isEmpty()) {
            long[] hashes = seq.hashes(seq.computed() / config.blockSize(), config.blockSize());
            kept = connector.requestFinished(
                    request(seq, seq.computed(), hashes, seq.computed() / config.blockSize()),
                    reason,
                    seq.blocks().toArray());
        }
        if (kept.holdBlocks()) {
            seq.status = Sequence.Status.FINISHED_HOLDING_BLOCKS;
            IntList table = new IntList();
            for (int i = 0; i < seq.blocks().size(); i++) {
                table.add(seq.blocks().get(i));
            }
            seq.blocks().clear();
            held.put(seq.requestId(), table);
        } else {
            seq.status = Sequence.Status.FINISHED;
            blocks.free(seq.blocks());
        }
        deliver(
                seq,
                new TokenDelta(
                        lastTokens == null ? new int[0] : lastTokens,
                        reason,
                        usage(seq),
                        lp == null ? null : List.of(lp),
                        null,
                        kept.kvTransferParams()));
    }

    private static Usage usage(Sequence seq) {
        return new Usage(seq.promptLength(), seq.cachedPromptTokens(), seq.generated(), seq.transferredTokens());
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
