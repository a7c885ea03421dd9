package dev.tandem.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import dev.tandem.api.time.Clock;
import dev.tandem.api.time.ManualClock;
import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import dev.tandem.engine.sim.SimEngineProvider;
import dev.tandem.engine.sim.SimTimingModel;
import dev.tandem.engine.sim.SimTokens;
import dev.tandem.engine.testing.RecordingListener;
import dev.tandem.engine.testing.SimReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BuiltinEngineTest {

    private static final long SEED = 21;
    private static final SimTokens DEMO_TOKENS = new SimTokens(SEED, 32, 127, ByteLevelTokenizer.EOS, 256);
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final ManualClock clock = new ManualClock();
    private final LinkedBlockingQueue<KvEventBatch> events = new LinkedBlockingQueue<>();
    private final List<Engine> engines = new ArrayList<>();
    private final List<GatedListener> gates = new ArrayList<>();

    @AfterEach
    void closeEngines() {
        gates.forEach(GatedListener::openFully); // never leave an engine thread held, even when a test failed
        engines.forEach(Engine::close);
    }

    private GatedListener gate() {
        GatedListener g = new GatedListener();
        gates.add(g);
        return g;
    }

    private BuiltinEngine engine(UnaryOperator<EngineConfig.Builder> tweak) {
        EngineConfig config = tweak.apply(EngineConfig.builder()
                        .workerId("w-test")
                        .blockSize(4)
                        .kvBlocks(256)
                        .maxNumBatchedTokens(64)
                        .maxNumSeqs(8)
                        .maxWaiting(64)
                        .seed(SEED)
                        .clock(clock)
                        .kvEvents(events::add))
                .build();
        BuiltinEngine e = (BuiltinEngine) new SimEngineProvider().create(config);
        engines.add(e);
        return e;
    }

    private BuiltinEngine engine() {
        return engine(b -> b);
    }

    private static GenerateRequest request(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(
                id,
                prompt,
                SamplingParams.GREEDY,
                StopConditions.maxTokens(maxTokens).withIgnoreEos(true));
    }

    /** Waits for a condition that the engine thread makes true eventually (its load snapshot lags a little). */
    private static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what);
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    private static EngineException.Kind kindOf(Throwable t) {
        return ((EngineException) t).kind();
    }

    /**
     * Holds the engine thread inside each non-final delta until the test hands out a permit, which makes the
     * interleaving of the engine loop with the test's calls deterministic.
     */
    private static final class GatedListener implements TokenListener {
        final RecordingListener recorded = new RecordingListener();
        final LinkedBlockingQueue<Integer> entered = new LinkedBlockingQueue<>();
        final Semaphore permits = new Semaphore(0);
        volatile boolean open;
        private int count;

        @Override
        public void onDelta(TokenDelta delta) {
            recorded.onDelta(delta);
            if (delta.isFinal() || open) {
                return;
            }
            entered.add(count++);
            try {
                if (!permits.tryAcquire(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never released the engine thread");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void onError(EngineException error) {
            recorded.onError(error);
        }

        /** Waits until the engine thread is held inside delta number {@code index}. */
        void awaitHeldAt(int index) throws InterruptedException {
            Integer i = entered.poll(30, TimeUnit.SECONDS);
            assertThat(i).as("engine thread held in a delta").isEqualTo(index);
        }

        void step() {
            permits.release();
        }

        void openFully() {
            open = true;
            permits.release(1_000);
        }
    }

    @Test
    void generateStreamsTheSimTokensAsDeltasUntilAFinalDelta() throws Exception {
        Engine engine = engine();
        int[] prompt = SimReference.prompt(30, 1);
        RecordingListener l = new RecordingListener();
        Generation g = engine.generate(request("r1", prompt, 20), l);
        assertThat(g.requestId()).isEqualTo("r1");

        TokenDelta last = l.await();
        assertThat(last.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(last.usage().promptTokens()).isEqualTo(30);
        assertThat(last.usage().completionTokens()).isEqualTo(20);
        assertThat(l.tokens()).containsExactly(SimReference.continuation(DEMO_TOKENS, prompt, 20));
        List<TokenDelta> deltas = l.deltas();
        assertThat(deltas.subList(0, deltas.size() - 1))
                .allSatisfy(d -> assertThat(d.isFinal()).isFalse());
        assertThat(deltas.get(0).usage().promptTokens())
                .as("provisional usage on the first delta")
                .isEqualTo(30);
        assertThat(deltas.subList(1, deltas.size() - 1))
                .allSatisfy(d -> assertThat(d.usage()).isNull());
        assertThat(deltas.getLast().isFinal()).isTrue();
        assertThat(clock.nanos())
                .as("the engine slept the modeled step times on its clock")
                .isGreaterThanOrEqualTo((long) (SimTimingModel.prefillMillis(30) * 1e6));
    }

    @Test
    void manyConcurrentCallersAllGetTheirOwnReferenceTokens() throws Exception {
        Engine engine = engine(b -> b.maxNumSeqs(3).maxNumBatchedTokens(32));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    int[] prompt = SimReference.prompt(5 + 3 * n, n % 3);
                    RecordingListener l = new RecordingListener();
                    engine.generate(request("r" + n, prompt, 10 + n), l);
                    l.await();
                    assertThat(l.finishReason()).isEqualTo(FinishReason.LENGTH);
                    assertThat(l.tokens()).containsExactly(SimReference.continuation(DEMO_TOKENS, prompt, 10 + n));
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        eventually("the engine is idle", () -> {
            LoadSnapshot s = engine.load();
            return s.runningRequests() == 0 && s.waitingRequests() == 0 && s.kvBlocksUsed() == 0;
        });
    }

    @Test
    void eosStopsGenerationUnlessIgnoreEos() throws Exception {
        Engine engine = engine(b -> b.options(Map.of("eos-one-in", "1")));
        RecordingListener stops = new RecordingListener();
        engine.generate(
                new GenerateRequest("stops", new int[] {1, 2}, SamplingParams.GREEDY, StopConditions.maxTokens(10)),
                stops);
        RecordingListener ignores = new RecordingListener();
        engine.generate(request("ignores", new int[] {1, 2}, 10), ignores);
        assertThat(stops.await().finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(stops.tokens()).containsExactly(ByteLevelTokenizer.EOS);
        assertThat(ignores.await().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(ignores.tokens()).hasSize(10).containsOnly(ByteLevelTokenizer.EOS);
    }

    @Test
    void cancelEndsTheRequestAndFreesItsBlocks() throws Exception {
        Engine engine = engine();
        GatedListener l = gate();
        Generation g = engine.generate(request("long", SimReference.prompt(40, 2), 10_000), l);
        l.awaitHeldAt(0);
        g.cancel();
        l.openFully();

        TokenDelta last = l.recorded.await();
        assertThat(last.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(last.tokenIds()).isEmpty();
        assertThat(last.usage().completionTokens()).isEqualTo(1);
        eventually("the blocks are freed", () -> engine.load().kvBlocksUsed() == 0);
        assertThat(engine.load().runningRequests()).isZero();

        g.cancel();
        engine.dumpKvState(); // a barrier: the engine has processed the second cancel
        assertThat(l.recorded.deltas()).hasSize(2);
        assertThat(l.recorded.finalDelta()).isSameAs(last);
    }

    @Test
    void cancellingAFinishedRequestSendsNothingMore() throws Exception {
        Engine engine = engine();
        RecordingListener l = new RecordingListener();
        Generation g = engine.generate(request("r", new int[] {1, 2, 3}, 3), l);
        l.await();
        g.cancel();
        engine.dumpKvState();
        assertThat(l.deltas()).hasSize(3);
        assertThat(l.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void cancellingAWaitingRequestEndsItWithoutTokens() throws Exception {
        Engine engine = engine(b -> b.maxNumSeqs(1));
        GatedListener running = gate();
        engine.generate(request("running", new int[] {1, 2, 3}, 100), running);
        running.awaitHeldAt(0);
        RecordingListener waiting = new RecordingListener();
        Generation g = engine.generate(request("waiting", new int[] {4, 5, 6}, 100), waiting);
        g.cancel();
        running.openFully();
        TokenDelta last = waiting.await();
        assertThat(last.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(waiting.tokens()).isEmpty();
        assertThat(last.usage().completionTokens()).isZero();
        assertThat(running.recorded.await().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void requestsBeyondMaxWaitingAreRefusedAsOverloaded() throws Exception {
        Engine engine = engine(b -> b.maxNumSeqs(1).maxWaiting(2));
        GatedListener a = gate();
        engine.generate(request("a", SimReference.prompt(8, 1), 1_000), a);
        a.awaitHeldAt(0);
        // Hold the engine at a's second token, so that the step that admitted a is fully accounted for.
        a.step();
        a.awaitHeldAt(1);
        RecordingListener b = new RecordingListener();
        RecordingListener c = new RecordingListener();
        engine.generate(request("b", SimReference.prompt(8, 2), 3), b);
        engine.generate(request("c", SimReference.prompt(8, 3), 3), c);
        // Let the engine go once round its loop: b and c move from the inbox into the scheduler's queue, where
        // they wait (one sequence at a time) behind a.
        a.step();
        a.awaitHeldAt(2);

        RecordingListener d = new RecordingListener();
        assertThatThrownBy(() -> engine.generate(request("d", SimReference.prompt(8, 4), 3), d))
                .isInstanceOf(EngineException.class)
                .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.OVERLOADED));

        a.openFully();
        assertThat(b.await().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.await().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(d.isDone()).as("a refused request gets no deltas").isFalse();
        assertThat(d.deltas()).isEmpty();

        // Once the queue has drained, requests are accepted again.
        eventually("the waiting queue is empty", () -> engine.load().waitingRequests() == 0);
        RecordingListener e = new RecordingListener();
        engine.generate(request("e", SimReference.prompt(8, 5), 3), e);
        assertThat(e.await().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void maxWaitingZeroRefusesEveryRequest() {
        Engine engine = engine(b -> b.maxWaiting(0));
        assertThatThrownBy(() -> engine.generate(request("r", new int[] {1}, 1), new RecordingListener()))
                .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.OVERLOADED));
    }

    @Test
    void invalidTokenIdsAreRejectedBeforeAnythingIsQueued() {
        Engine engine = engine();
        RecordingListener l = new RecordingListener();
        for (int[] prompt : List.of(
                new int[] {1, -1, 2}, new int[] {ByteLevelTokenizer.VOCAB_SIZE}, new int[] {Integer.MAX_VALUE})) {
            assertThatThrownBy(() -> engine.generate(request("bad", prompt, 5), l))
                    .isInstanceOf(EngineException.class)
                    .hasMessageContaining("outside the vocabulary")
                    .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.INVALID_REQUEST));
        }
        engine.dumpKvState();
        assertThat(l.deltas()).isEmpty();
        assertThat(engine.load().waitingRequests()).isZero();
    }

    @Test
    void promptsThatFillTheContextAreRejected() throws Exception {
        Engine engine = engine(b -> b.options(Map.of("context-length", "64")));
        assertThatThrownBy(
                        () -> engine.generate(request("long", SimReference.prompt(64, 1), 5), new RecordingListener()))
                .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.INVALID_REQUEST))
                .hasMessageContaining("context");

        RecordingListener l = new RecordingListener();
        engine.generate(request("fits", SimReference.prompt(63, 1), 5), l);
        assertThat(l.await().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(l.tokens()).as("one token fits before the context is full").hasSize(1);
    }

    @Test
    void promptsThatNeedMoreKvBlocksThanTheWorkerHasAreRejected() throws Exception {
        Engine engine = engine(b -> b.blockSize(16).kvBlocks(4));
        assertThatThrownBy(
                        () -> engine.generate(request("big", SimReference.prompt(64, 1), 5), new RecordingListener()))
                .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.INVALID_REQUEST))
                .hasMessageContaining("KV blocks");

        // 63 tokens fit; generation then runs into the end of the KV cache and must still finish.
        RecordingListener l = new RecordingListener();
        engine.generate(request("fits", SimReference.prompt(63, 1), 50), l);
        assertThat(l.await().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(l.tokens()).hasSize(2);
        eventually("the blocks are freed", () -> engine.load().kvBlocksUsed() == 0);
    }

    @Test
    void kvEventBatchesAreNumberedWithoutGapsAndReplayToTheDump() throws Exception {
        Engine engine = engine(b -> b.kvBlocks(24).maxNumSeqs(3));
        List<RecordingListener> listeners = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            RecordingListener l = new RecordingListener();
            engine.generate(request("r" + i, SimReference.prompt(12 + i, i % 3), 8), l);
            listeners.add(l);
        }
        for (RecordingListener l : listeners) {
            l.await();
        }
        KvStateDump dump = engine.dumpKvState();
        List<KvEventBatch> batches = new ArrayList<>(events);
        assertThat(batches).isNotEmpty();
        for (int i = 0; i < batches.size(); i++) {
            assertThat(batches.get(i).eventId()).as("batch %d", i).isEqualTo(i + 1);
            assertThat(batches.get(i).workerId()).isEqualTo("w-test");
        }
        assertThat(dump.workerId()).isEqualTo("w-test");
        assertThat(dump.lastEventId()).isEqualTo(batches.size());
        Set<Long> replayed = new HashSet<>();
        boolean sawRemoval = false;
        for (KvEventBatch b : batches) {
            for (KvEvent e : b.events()) {
                switch (e) {
                    case KvEvent.BlockStored s -> Arrays.stream(s.blockHashes()).forEach(replayed::add);
                    case KvEvent.BlockRemoved r -> {
                        sawRemoval = true;
                        Arrays.stream(r.blockHashes()).forEach(replayed::remove);
                    }
                    case KvEvent.AllBlocksCleared c -> replayed.clear();
                }
            }
        }
        assertThat(sawRemoval).as("24 blocks were too few to keep every prefix").isTrue();
        assertThat(Arrays.stream(dump.blockHashes()).boxed().collect(Collectors.toSet()))
                .isEqualTo(replayed);
    }

    @Test
    void loadReportsTheWorkerAndItsCapacity() throws Exception {
        Engine engine = engine(b -> b.kvBlocks(100));
        RecordingListener l = new RecordingListener();
        engine.generate(request("r", SimReference.prompt(10, 1), 5), l);
        l.await();
        eventually("the engine is idle", () -> engine.load().runningRequests() == 0);
        LoadSnapshot s = engine.load();
        assertThat(s.workerId()).isEqualTo("w-test");
        assertThat(s.kvBlocksTotal()).isEqualTo(100);
        assertThat(s.kvBlocksUsed()).isZero();
        assertThat(s.waitingRequests()).isZero();
        assertThat(s.pendingPrefillTokens()).isZero();
        assertThat(engine.info().kvBlocks()).isEqualTo(100);
    }

    @Test
    void aSpedUpRealTimeEngineProducesTheSameTokens() throws Exception {
        Engine engine = engine(b -> b.clock(Clock.system()).speedup(1e6));
        int[] prompt = SimReference.prompt(20, 4);
        RecordingListener l = new RecordingListener();
        engine.generate(request("r", prompt, 15), l);
        l.await();
        assertThat(l.tokens()).containsExactly(SimReference.continuation(DEMO_TOKENS, prompt, 15));
    }

    @Test
    void aRequestContinuedOnAnotherEngineProducesTheSameRemainingTokens() throws Exception {
        Engine first = engine();
        int[] prompt = SimReference.prompt(25, 6);
        RecordingListener whole = new RecordingListener();
        first.generate(request("whole", prompt, 30), whole);
        whole.await();
        int[] all = whole.tokens();

        Engine second = engine(b -> b.workerId("w-other").blockSize(16).maxNumBatchedTokens(8));
        int[] continued = Arrays.copyOf(prompt, prompt.length + 12);
        System.arraycopy(all, 0, continued, prompt.length, 12);
        RecordingListener rest = new RecordingListener();
        second.generate(request("rest", continued, 18), rest);
        rest.await();
        assertThat(rest.tokens()).containsExactly(Arrays.copyOfRange(all, 12, 30));
    }

    @Test
    void closeCancelsTheRequestsInFlight() throws Exception {
        Engine engine = engine(b -> b.maxNumSeqs(1));
        GatedListener running = gate();
        engine.generate(request("running", SimReference.prompt(8, 1), 10_000), running);
        running.awaitHeldAt(0);
        RecordingListener waiting = new RecordingListener();
        engine.generate(request("waiting", SimReference.prompt(8, 2), 10), waiting);

        Thread closer = Thread.ofPlatform().start(engine::close);
        // close() marks the engine closed, then joins the (held) engine thread.
        eventually("close() waits for the engine thread", () -> closer.getState() == Thread.State.TIMED_WAITING);
        running.openFully();
        closer.join(WAIT.toMillis());
        assertThat(closer.isAlive()).isFalse();

        assertThat(running.recorded.await().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(running.recorded.tokens()).hasSize(1);
        assertThat(waiting.await().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThatThrownBy(() -> engine.generate(request("late", new int[] {1}, 1), new RecordingListener()))
                .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.UNAVAILABLE));
        engine.close(); // idempotent
    }

    @Test
    void aListenerThatThrowsEndsOnlyItsOwnRequest() throws Exception {
        Engine engine = engine();
        TokenListener broken = new TokenListener() {
            @Override
            public void onDelta(TokenDelta delta) {
                throw new IllegalStateException("a buggy caller");
            }

            @Override
            public void onError(EngineException error) {}
        };
        engine.generate(request("broken", SimReference.prompt(12, 3), 50), broken);
        RecordingListener healthy = new RecordingListener();
        int[] prompt = SimReference.prompt(12, 4);
        engine.generate(request("healthy", prompt, 30), healthy);
        assertThat(healthy.await().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(healthy.tokens()).containsExactly(SimReference.continuation(DEMO_TOKENS, prompt, 30));
        eventually("the broken request's blocks are freed", () -> engine.load().kvBlocksUsed() == 0);
        RecordingListener after = new RecordingListener();
        engine.generate(request("after", prompt, 5), after);
        assertThat(after.await().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void dumpAfterCloseFailsAtOnce() {
        Engine engine = engine();
        engine.close();
        assertThatThrownBy(engine::dumpKvState)
                .satisfies(e -> assertThat(kindOf(e)).isEqualTo(EngineException.Kind.UNAVAILABLE));
    }
}
