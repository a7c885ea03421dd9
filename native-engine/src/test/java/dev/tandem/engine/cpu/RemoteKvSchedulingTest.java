package dev.tandem.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.FinishedRequest;
import dev.tandem.api.kv.connector.FinishedTransfers;
import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.MatchedTokens;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.engine.EngineCore;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The built-in engine's side of disaggregation, on the real CPU backend and stories260K, with a connector that the
 * test drives by hand (so every interleaving is chosen, not hoped for): a prefill engine keeps a finished prompt's
 * blocks, a decode engine admits the continuation with blocks allocated, waits in {@code WAITING_FOR_REMOTE_KV}
 * while other sequences run and are preempted, and goes on from the copied KV. Output is llama2.c's, token for
 * token; blocks whose load fails are recomputed.
 */
class RemoteKvSchedulingTest {

    /** Blocks a prefill engine holds, by transfer id: what a peer would pull. */
    private static final class Held {
        final KvBlockStore store;
        final int[] blocks;
        final int tokens;
        final String requestId;

        Held(KvBlockStore store, int[] blocks, int tokens, String requestId) {
            this.store = store;
            this.blocks = blocks;
            this.tokens = tokens;
            this.requestId = requestId;
        }
    }

    /** A connector whose transfers happen when the test calls {@link #deliver}. */
    private static final class HandOff implements KvConnector {
        final Map<String, Held> shared;
        KvBlockStore store;
        final List<Runnable> pending = new ArrayList<>();
        final Set<String> received = new HashSet<>();
        final Set<String> sent = new HashSet<>();
        final Set<Integer> failed = new HashSet<>();
        /** Index (within a transfer) of a block whose load fails, or -1. */
        int failIndex = -1;

        HandOff peer;

        HandOff(Map<String, Held> shared) {
            this.shared = shared;
        }

        @Override
        public String name() {
            return "hand-off";
        }

        @Override
        public void register(KvConnectorContext context) {
            this.store = context.store();
        }

        @Override
        public MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens) {
            Held h = request.kvTransferParams() == null ? null : shared.get(request.kvTransferParams());
            int n = h == null ? 0 : h.tokens - computedTokens;
            return n > 0 ? new MatchedTokens(n, false, true, false) : MatchedTokens.NONE;
        }

        @Override
        public void afterAllocation(ConnectorRequest request, int[] blockIds, int computed, int external) {
            Held h = shared.get(request.kvTransferParams());
            int bs = store.layout().blockSize();
            int first = computed / bs;
            int last = (computed + external + bs - 1) / bs;
            pending.add(() -> {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment buf = a.allocate(store.layout().bytesPerBlock());
                    for (int i = first; i < last; i++) {
                        if (i - first == failIndex) {
                            failed.add(blockIds[i]);
                            continue;
                        }
                        h.store.readBlock(h.blocks[i], buf);
                        store.writeBlock(blockIds[i], buf);
                    }
                }
                received.add(request.requestId());
                peer.sent.add(h.requestId);
            });
        }

        /** The decode side of this prefill side: they share the held transfers and report to each other. */
        HandOff pairedDecoder() {
            HandOff d = new HandOff(shared);
            d.peer = this;
            this.peer = d;
            return d;
        }

        /** Completes every pull started so far. */
        void deliver() {
            pending.forEach(Runnable::run);
            pending.clear();
        }

        @Override
        public FinishedRequest requestFinished(ConnectorRequest request, FinishReason reason, int[] blockIds) {
            if (!"{\"do_remote_decode\":true}".equals(request.kvTransferParams()) || reason != FinishReason.LENGTH) {
                return FinishedRequest.RELEASE;
            }
            String id = "transfer-" + request.requestId();
            shared.put(id, new Held(store, blockIds.clone(), request.computedTokens(), request.requestId()));
            return new FinishedRequest(true, id);
        }

        @Override
        public FinishedTransfers finished() {
            FinishedTransfers f = new FinishedTransfers(sent, received);
            sent.clear();
            received.clear();
            return f;
        }

        @Override
        public Set<Integer> failedBlockLoads() {
            Set<Integer> f = Set.copyOf(failed);
            failed.clear();
            return f;
        }
    }

    /** Collects one request's tokens. */
    private static final class Collect implements TokenListener {
        final List<Integer> tokens = new ArrayList<>();
        TokenDelta last;
        int transferred;

        @Override
        public void onDelta(TokenDelta d) {
            for (int t : d.tokenIds()) {
                tokens.add(t);
            }
            if (d.usage() != null) {
                transferred = Math.max(transferred, d.usage().kvTransferredTokens());
            }
            if (d.isFinal()) {
                last = d;
            }
        }

        @Override
        public void onError(dev.tandem.api.engine.EngineException error) {
            throw error;
        }
    }

    private record Case(int[] prompt, int[] greedy) {}

    private static List<Case> cases() throws IOException {
        JsonNode root = new ObjectMapper()
                .readTree(SharedFixtures.require("reference/stories260K-greedy.json")
                        .toFile());
        List<Case> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            out.add(new Case(ints(c.get("prompt")), ints(c.get("greedy"))));
        }
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    private static EngineCore core(String id, int blockSize, int kvBlocks, int batched, KvConnector c) {
        return NativeEngineProvider.core(config(id, blockSize, kvBlocks, batched, c));
    }

    private static EngineConfig config(String id, int blockSize, int kvBlocks, int batched, KvConnector c) {
        return EngineConfig.builder()
                .workerId(id)
                .model(SharedFixtures.require("models/stories260K.bin").toString())
                .blockSize(blockSize)
                .kvBlocks(kvBlocks)
                .maxNumBatchedTokens(batched)
                .options(Map.of("threads", "1"))
                .kvConnector(c)
                .build();
    }

    /** An engine on the cpu or the cuda backend (the emulated device on machines without a GPU). */
    private static EngineCore core(String backend, String id, KvConnector c) {
        EngineConfig config = config(id, 16, 256, 8192, c);
        return backend.equals("cuda")
                ? NativeEngineProvider.core(
                        config,
                        dev.tandem.engine.cuda.CudaEngineProvider.backends(
                                dev.tandem.engine.cuda.TestGpus.create(), true))
                : NativeEngineProvider.core(config);
    }

    /**
     * Both backends keep KV in the connector SPI's layout, so a prompt prefilled on one continues on the other: the
     * GPU's device cache and the CPU's transposed-key store meet in the same bytes.
     */
    @ParameterizedTest(name = "prefill on {0}, decode on {1}")
    @CsvSource({"cpu, cuda", "cuda, cpu", "cuda, cuda"})
    void kvMovesBetweenTheCpuAndCudaBackendsAndTheOutputStaysExact(String prefillOn, String decodeOn)
            throws IOException {
        HandOff pc = new HandOff(new HashMap<>());
        HandOff dc = pc.pairedDecoder();
        EngineCore prefill = core(prefillOn, "prefill", pc);
        EngineCore decode = core(decodeOn, "decode", dc);
        List<Case> cases = cases().subList(0, 3);
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Collect p = prefill(prefill, "x" + i, c.prompt());
            int t1 = p.tokens.getFirst();
            Collect d = new Collect();
            decode.add(greedy("x" + i, append(c.prompt(), t1), c.greedy().length - 1, p.last.kvTransferParams()), d, 0);
            decode.step();
            dc.deliver();
            run(decode, d);
            List<Integer> all = new ArrayList<>(List.of(t1));
            all.addAll(d.tokens);
            assertThat(all).as("case %d", i).containsExactlyElementsOf(boxed(c.greedy()));
            assertThat(d.transferred)
                    .isEqualTo(c.prompt().length - d.last.usage().cachedPromptTokens());
            prefill.idle();
        }
    }

    private static void run(EngineCore core, Collect c) {
        for (int i = 0; i < 10_000 && c.last == null; i++) {
            core.step();
        }
        assertThat(c.last).isNotNull();
    }

    private static GenerateRequest greedy(String id, int[] prompt, int max, String params) {
        return new GenerateRequest(
                id,
                prompt,
                SamplingParams.GREEDY,
                StopConditions.maxTokens(max).withIgnoreEos(true),
                null,
                null,
                params);
    }

    private static int[] append(int[] prompt, int token) {
        int[] s = java.util.Arrays.copyOf(prompt, prompt.length + 1);
        s[prompt.length] = token;
        return s;
    }

    /** Prefills {@code c.prompt} on {@code prefill}: its one token and the transfer id. */
    private static Collect prefill(EngineCore prefill, String id, int[] prompt) {
        Collect p = new Collect();
        prefill.add(greedy(id + "-p", prompt, 1, "{\"do_remote_decode\":true}"), p, 0);
        run(prefill, p);
        assertThat(p.last.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(p.last.kvTransferParams()).isEqualTo("transfer-" + id + "-p");
        return p;
    }

    @ParameterizedTest(name = "block size {0}, {1} batched tokens")
    @CsvSource({"4, 8192", "16, 8192", "64, 8192", "16, 8", "4, 5"})
    void disaggregatedOutputEqualsLlama2cAcrossBlockSizesAndChunkedPrefill(int blockSize, int batched)
            throws IOException {
        HandOff pc = new HandOff(new HashMap<>());
        HandOff dc = pc.pairedDecoder();
        EngineCore prefill = core("prefill", blockSize, 256, batched, pc);
        EngineCore decode = core("decode", blockSize, 256, batched, dc);
        int i = 0;
        for (Case c : cases()) {
            String id = "c" + i++;
            Collect p = prefill(prefill, id, c.prompt());
            int t1 = p.tokens.getFirst();
            Collect d = new Collect();
            decode.add(greedy(id, append(c.prompt(), t1), c.greedy().length - 1, p.last.kvTransferParams()), d, 0);
            decode.step(); // admitted: blocks allocated, waiting for the KV
            assertThat(decode.scheduler().loadingCount()).isEqualTo(1);
            dc.deliver();
            run(decode, d);
            List<Integer> all = new ArrayList<>(List.of(t1));
            all.addAll(d.tokens);
            assertThat(all).as("case %d", i - 1).containsExactlyElementsOf(boxed(c.greedy()));
            // The decoder computed none of the prompt it received (its own cache aside).
            int cachedOnDecoder = d.last.usage().cachedPromptTokens();
            assertThat(d.transferred).isEqualTo(c.prompt().length - cachedOnDecoder);
            prefill.idle(); // frees the pulled blocks
            assertThat(prefill.scheduler().heldCount()).isZero();
        }
        assertThat(prefill.scheduler().blockManager().usedBlocks()).isZero();
        assertThat(decode.scheduler().blockManager().usedBlocks()).isZero();
    }

    @Test
    void sequencesArePreemptedWhileOneWaitsForRemoteKvAndEveryOutputStaysExact() throws IOException {
        List<Case> cases = cases();
        HandOff pc = new HandOff(new HashMap<>());
        HandOff dc = pc.pairedDecoder();
        EngineCore prefill = core("prefill", 4, 256, 8192, pc);
        // The engine keeps at least one full context (512 tokens: 129 blocks of 4); six sequences growing to ~90
        // tokens each (127 blocks) cannot all fit beside the 10 blocks the waiting one holds.
        EngineCore decode = core("decode", 4, 40, 8192, dc);
        assertThat(decode.scheduler().blockManager().totalBlocks()).isEqualTo(129);
        Case remote = cases.get(2);
        Collect p = prefill(prefill, "remote", remote.prompt());
        Collect r = new Collect();
        decode.add(
                greedy(
                        "remote",
                        append(remote.prompt(), p.tokens.getFirst()),
                        remote.greedy().length - 1,
                        p.last.kvTransferParams()),
                r,
                0);
        List<Collect> local = new ArrayList<>();
        List<Case> localCases =
                List.of(cases.get(0), cases.get(1), cases.get(3), cases.get(4), cases.get(5), cases.get(6));
        for (int k = 0; k < localCases.size(); k++) {
            Collect c = new Collect();
            local.add(c);
            decode.add(
                    greedy(
                            "local-" + k,
                            localCases.get(k).prompt(),
                            localCases.get(k).greedy().length,
                            null),
                    c,
                    0);
        }
        for (int s = 0; s < 150; s++) {
            decode.step();
        }
        assertThat(decode.scheduler().loadingCount()).isEqualTo(1);
        assertThat(decode.scheduler().preemptions()).isPositive();
        dc.deliver();
        run(decode, r);
        for (int k = 0; k < local.size(); k++) {
            run(decode, local.get(k));
            assertThat(local.get(k).tokens)
                    .containsExactlyElementsOf(boxed(localCases.get(k).greedy()));
        }
        List<Integer> all = new ArrayList<>(List.of(p.tokens.getFirst()));
        all.addAll(r.tokens);
        assertThat(all).containsExactlyElementsOf(boxed(remote.greedy()));
        assertThat(decode.scheduler().blockManager().usedBlocks()).isZero();
    }

    @Test
    void aBlockWhoseLoadFailedIsRecomputedAndTheOutputStaysExact() throws IOException {
        Case c = cases().get(0); // 31 prompt tokens: 8 blocks of 4
        HandOff pc = new HandOff(new HashMap<>());
        HandOff dc = pc.pairedDecoder();
        dc.failIndex = 5;
        EngineCore prefill = core("prefill", 4, 256, 8192, pc);
        EngineCore decode = core("decode", 4, 256, 8192, dc);
        Collect p = prefill(prefill, "f", c.prompt());
        Collect d = new Collect();
        decode.add(
                greedy("f", append(c.prompt(), p.tokens.getFirst()), c.greedy().length - 1, p.last.kvTransferParams()),
                d,
                0);
        decode.step();
        dc.deliver();
        run(decode, d);
        List<Integer> all = new ArrayList<>(List.of(p.tokens.getFirst()));
        all.addAll(d.tokens);
        assertThat(all).containsExactlyElementsOf(boxed(c.greedy()));
        assertThat(d.transferred).isEqualTo(5 * 4); // blocks 0-4 arrived; 5 on are recomputed
    }

    @Test
    void aRequestCancelledWhileItsKvLoadsKeepsItsBlocksUntilTheLoadEnds() throws IOException {
        Case c = cases().get(0);
        HandOff pc = new HandOff(new HashMap<>());
        HandOff dc = pc.pairedDecoder();
        EngineCore prefill = core("prefill", 4, 256, 8192, pc);
        EngineCore decode = core("decode", 4, 256, 8192, dc);
        Collect p = prefill(prefill, "x", c.prompt());
        Collect d = new Collect();
        decode.add(greedy("x", append(c.prompt(), p.tokens.getFirst()), 8, p.last.kvTransferParams()), d, 0);
        decode.step();
        int held = decode.scheduler().blockManager().usedBlocks();
        assertThat(held).isPositive();
        assertThat(decode.abort("x")).isTrue();
        assertThat(d.last.finishReason()).isEqualTo(FinishReason.CANCELLED);
        // the (pretend) pull may still be writing: the blocks stay allocated until it reports
        assertThat(decode.scheduler().blockManager().usedBlocks()).isEqualTo(held);
        dc.deliver();
        decode.idle();
        assertThat(decode.scheduler().blockManager().usedBlocks()).isZero();
    }

    private static List<Integer> boxed(int[] a) {
        List<Integer> out = new ArrayList<>();
        for (int v : a) {
            out.add(v);
        }
        return out;
    }
}
