package dev.tandem.conformance.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Engine TCK: the contract every {@link EngineProvider} keeps, as JUnit 5 tests a backend author runs by
 * extending this class (or through {@code ConfiguredEngineContractTest} with {@code -Dtandem.tck.engine=NAME}).
 * What the engine declares in {@link EngineCapabilities} decides which cases apply; a case that does not apply is
 * reported as aborted with the capability it needs, never silently passed.
 *
 * <p>The cases are what the rest of Tandem relies on: one final delta with usage and reason (the frontend's
 * bookkeeping), exact token budgets and stop ids, greedy determinism and continuation (migration), seeded
 * reproducibility, cancellation that frees resources, concurrency, typed errors, KV events that agree with the cache
 * dump (router re-sync), and cached-token usage for a repeated prompt.
 */
public abstract class EngineContractTest {

    /** The provider under test. */
    protected abstract EngineProvider provider();

    /** The configuration the engine under test is created with; override to set a model, options or limits. */
    protected EngineConfig.Builder config() {
        return EngineConfig.builder()
                .workerId("tck-0")
                .blockSize(16)
                .kvBlocks(1024)
                .maxNumSeqs(64);
    }

    /** A valid prompt of {@code length} ids for the model; override when low ids are not valid for it. */
    protected int[] prompt(int length, int variant) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + Math.floorMod(i * 31 + variant * 7919, Math.max(1, Math.min(info.vocabSize(), 250) - 3));
        }
        return p;
    }

    /** The longest one request may take; external engines may need more. */
    protected Duration timeout() {
        return Duration.ofSeconds(60);
    }

    protected Engine engine;
    protected EngineInfo info;
    protected final List<KvEventBatch> events = new CopyOnWriteArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();

    @BeforeEach
    void createEngine() {
        EngineConfig c = config().kvEvents(events::add).build();
        engine = provider().create(c);
        info = engine.info();
    }

    @AfterEach
    void closeEngine() {
        if (engine != null) {
            engine.close();
        }
    }

    protected EngineCapabilities capabilities() {
        return info.capabilities();
    }

    private void requires(boolean capability, String name) {
        Assumptions.assumeTrue(capability, "the engine does not declare the capability " + name);
    }

    protected GenerateRequest request(int[] prompt, SamplingParams sampling, StopConditions stop) {
        return new GenerateRequest("tck-" + ids.incrementAndGet(), prompt, sampling, stop);
    }

    /** A budget that runs until cancelled yet fits the context beside {@code promptLength} tokens. */
    protected int longBudget(int promptLength) {
        return Math.max(1, Math.min(100_000, info.contextLength() - promptLength));
    }

    protected GenerationResult run(GenerateRequest r) {
        GenerationResult g = GenerationResult.start(engine, r);
        g.await(timeout());
        return g;
    }

    // -- info -------------------------------------------------------------------------------------------------------

    @Test
    void engineInfoDescribesWhatIsServed() {
        assertThat(info.modelName()).isNotBlank();
        assertThat(info.blockSize())
                .as("the configured block size")
                .isEqualTo(config().build().blockSize());
        assertThat(info.contextLength()).isPositive();
        assertThat(info.kvBlocks()).isPositive();
        assertThat(info.vocabSize()).isPositive();
        assertThat(info.capabilities()).isNotNull();
    }

    // -- streaming shape --------------------------------------------------------------------------------------------

    @Test
    void aStreamEndsWithExactlyOneFinalDeltaCarryingReasonAndUsage() {
        GenerationResult g = run(request(prompt(20, 1), SamplingParams.GREEDY, StopConditions.maxTokens(8)));
        g.assertFinished();
        List<TokenDelta> finals =
                g.deltas().stream().filter(TokenDelta::isFinal).toList();
        assertThat(finals).as("final deltas").hasSize(1);
        assertThat(g.deltas().getLast()).as("the final delta is the last").isSameAs(finals.getFirst());
        assertThat(finals.getFirst().usage()).as("usage in the final delta").isNotNull();
        assertThat(finals.getFirst().usage().promptTokens()).isEqualTo(20);
        if (capabilities().tokenIdsOut()) {
            assertThat(finals.getFirst().usage().completionTokens()).isEqualTo(g.tokenCount());
        } else {
            assertThat(g.text()).as("an engine without ids streams text").isNotEmpty();
        }
        assertThat(finals.getFirst().usage().completionTokens()).isBetween(1, 8);
    }

    @Test
    void maxTokensIsExactWhenEosIsIgnored() {
        requires(capabilities().tokenIdsOut(), "tokenIdsOut");
        GenerationResult g = run(request(
                prompt(12, 2),
                SamplingParams.GREEDY,
                StopConditions.maxTokens(17).withIgnoreEos(true)));
        g.assertFinished();
        assertThat(g.tokenIds()).hasSize(17);
        assertThat(g.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void aStopTokenIdEndsGenerationAtItsFirstOccurrence() {
        requires(capabilities().tokenIdsOut(), "tokenIdsOut");
        int[] p = prompt(12, 3);
        List<Integer> free = run(request(
                        p, SamplingParams.GREEDY, StopConditions.maxTokens(12).withIgnoreEos(true)))
                .tokenIds();
        int stopId = free.get(5);
        int first = free.indexOf(stopId);
        GenerationResult g = run(request(p, SamplingParams.GREEDY, new StopConditions(12, Set.of(stopId), true, 0)));
        g.assertFinished();
        assertThat(g.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(g.tokenIds()).as("up to and including the stop id").isEqualTo(free.subList(0, first + 1));
    }

    // -- determinism ------------------------------------------------------------------------------------------------

    @Test
    void greedyDecodingRepeatsItselfAndContinuesASequenceExactly() {
        requires(capabilities().tokenIdsOut(), "tokenIdsOut");
        int[] p = prompt(24, 4);
        StopConditions n = StopConditions.maxTokens(16).withIgnoreEos(true);
        List<Integer> a = run(request(p, SamplingParams.GREEDY, n)).tokenIds();
        List<Integer> b = run(request(p, SamplingParams.GREEDY, n)).tokenIds();
        assertThat(b).as("the same greedy request twice").isEqualTo(a);
        // what migration relies on: prompt + k generated tokens continues with the same tokens
        int k = 6;
        int[] continued = new int[p.length + k];
        System.arraycopy(p, 0, continued, 0, p.length);
        for (int i = 0; i < k; i++) {
            continued[p.length + i] = a.get(i);
        }
        List<Integer> rest = run(request(
                        continued,
                        SamplingParams.GREEDY,
                        StopConditions.maxTokens(16 - k).withIgnoreEos(true)))
                .tokenIds();
        assertThat(rest).isEqualTo(a.subList(k, 16));
    }

    @Test
    void seededSamplingIsReproducible() {
        requires(capabilities().tokenIdsOut() && capabilities().seededSampling(), "seededSampling");
        SamplingParams s = new SamplingParams(1.0, 0.95, 0, 0, 1234L, 1.0, 0, 0, -1);
        StopConditions n = StopConditions.maxTokens(12).withIgnoreEos(true);
        int[] p = prompt(16, 5);
        assertThat(run(request(p, s, n)).tokenIds())
                .isEqualTo(run(request(p, s, n)).tokenIds());
    }

    @Test
    void logProbabilitiesAreGivenWhenDeclaredAndRefusedOtherwise() {
        SamplingParams withLogprobs = new SamplingParams(0, 1, 0, 0, null, 1, 0, 0, 2);
        GenerationResult g = GenerationResult.tryStart(
                engine,
                request(
                        prompt(10, 10),
                        withLogprobs,
                        StopConditions.maxTokens(4).withIgnoreEos(true)));
        g.await(timeout());
        if (!capabilities().logprobs()) {
            assertThat(g.error())
                    .as("a logprobs request to an engine without them is refused")
                    .isNotNull();
            assertThat(g.error().kind()).isEqualTo(EngineException.Kind.INVALID_REQUEST);
            return;
        }
        g.assertFinished();
        int withLp = 0;
        for (TokenDelta d : g.deltas()) {
            if (d.tokenIds().length > 0) {
                assertThat(d.logprobs()).as("one log-probability per id").hasSize(d.tokenIds().length);
                withLp += d.logprobs().size();
                d.logprobs().forEach(lp -> assertThat(lp.logprob()).isLessThanOrEqualTo(1e-6f));
            }
        }
        assertThat(withLp).isEqualTo(g.tokenCount());
    }

    // -- lifecycle --------------------------------------------------------------------------------------------------

    @Test
    void cancellingARequestEndsItAndReturnsTheEngineToIdle() {
        GenerationResult g = GenerationResult.start(
                engine,
                request(
                        prompt(32, 6),
                        SamplingParams.GREEDY,
                        StopConditions.maxTokens(longBudget(32)).withIgnoreEos(true)));
        g.awaitOutput(timeout());
        g.generation().cancel();
        g.await(timeout());
        assertThat(g.error())
                .as("a cancelled request ends with a delta, not an error")
                .isNull();
        assertThat(g.finishReason()).isEqualTo(FinishReason.CANCELLED);
        // Idle means no request running or waiting. Blocks are not compared: an external engine's KV usage may count
        // the prefix cache it keeps (the built-in engine's freeing is tested in its own tests).
        GenerationResult.eventually("the engine is idle again", timeout(), () -> {
            var load = engine.load();
            return load.runningRequests() == 0 && load.waitingRequests() == 0;
        });
    }

    @Test
    void sixtyFourConcurrentRequestsAllFinish() {
        List<GenerationResult> all = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            all.add(GenerationResult.start(
                    engine, request(prompt(8 + i % 16, 100 + i), SamplingParams.GREEDY, StopConditions.maxTokens(6))));
        }
        for (GenerationResult g : all) {
            g.await(timeout().multipliedBy(2));
            g.assertFinished();
            assertThat(g.finalUsage()).as("usage in the final delta").isNotNull();
            assertThat(g.finalUsage().completionTokens()).isBetween(1, 6);
            if (capabilities().tokenIdsOut()) {
                assertThat(g.tokenCount()).isEqualTo(g.finalUsage().completionTokens());
            }
        }
    }

    // -- errors -----------------------------------------------------------------------------------------------------

    @Test
    void aPromptBeyondTheContextIsAnInvalidRequest() {
        Assumptions.assumeTrue(info.contextLength() < 1 << 20, "the engine's context is not bounded here");
        int[] p = prompt(info.contextLength() + 1, 7);
        GenerationResult g =
                GenerationResult.tryStart(engine, request(p, SamplingParams.GREEDY, StopConditions.maxTokens(1)));
        g.await(timeout());
        assertThat(g.error()).as("refused").isNotNull();
        assertThat(g.error().kind()).isEqualTo(EngineException.Kind.INVALID_REQUEST);
    }

    @Test
    void aTokenIdOutsideTheVocabularyIsAnInvalidRequest() {
        Assumptions.assumeTrue(info.vocabSize() < Integer.MAX_VALUE, "the engine does not know its vocabulary");
        int[] p = prompt(8, 8);
        p[3] = info.vocabSize() + 5;
        GenerationResult g =
                GenerationResult.tryStart(engine, request(p, SamplingParams.GREEDY, StopConditions.maxTokens(1)));
        g.await(timeout());
        assertThat(g.error()).as("refused").isNotNull();
        assertThat(g.error().kind()).isEqualTo(EngineException.Kind.INVALID_REQUEST);
    }

    @Test
    void aFullEngineRefusesWithOverloaded() {
        requires(capabilities().admissionLimit(), "admissionLimit");
        engine.close();
        engine = provider()
                .create(config().maxNumSeqs(1)
                        .maxWaiting(1)
                        .kvEvents(events::add)
                        .build());
        List<GenerationResult> all = new ArrayList<>();
        boolean overloaded = false;
        for (int i = 0; i < 16 && !overloaded; i++) {
            GenerationResult g = GenerationResult.tryStart(
                    engine,
                    request(
                            prompt(8, 200 + i),
                            SamplingParams.GREEDY,
                            StopConditions.maxTokens(longBudget(8)).withIgnoreEos(true)));
            all.add(g);
            overloaded = g.error() != null && g.error().kind() == EngineException.Kind.OVERLOADED;
        }
        all.forEach(g -> {
            if (g.generation() != null) {
                g.generation().cancel();
            }
        });
        assertThat(overloaded)
                .as("some request beyond maxNumSeqs + maxWaiting is refused as OVERLOADED")
                .isTrue();
    }

    // -- KV cache ---------------------------------------------------------------------------------------------------

    @Test
    void kvEventsAgreeWithTheCacheDump() {
        requires(capabilities().kvEvents() && capabilities().kvCacheDump(), "kvEvents and kvCacheDump");
        for (int i = 0; i < 4; i++) {
            run(request(prompt(3 * info.blockSize() + 5, 300 + i), SamplingParams.GREEDY, StopConditions.maxTokens(4)))
                    .assertFinished();
        }
        GenerationResult.eventually("events caught up with the dump", timeout(), () -> {
            var dump = engine.dumpKvState();
            long last = events.isEmpty() ? 0 : events.getLast().eventId();
            return last >= dump.lastEventId() && !events.isEmpty();
        });
        var dump = engine.dumpKvState();
        Set<Long> held = new HashSet<>();
        long previous = 0;
        for (KvEventBatch b : events) {
            assertThat(b.eventId()).as("event ids increase by one").isEqualTo(previous + 1);
            previous = b.eventId();
            if (b.eventId() > dump.lastEventId()) {
                break;
            }
            for (KvEvent e : b.events()) {
                switch (e) {
                    case KvEvent.BlockStored s -> {
                        for (long h : s.blockHashes()) {
                            held.add(h);
                        }
                    }
                    case KvEvent.BlockRemoved r -> {
                        for (long h : r.blockHashes()) {
                            held.remove(h);
                        }
                    }
                    case KvEvent.AllBlocksCleared c -> held.clear();
                }
            }
        }
        Set<Long> dumped = new HashSet<>();
        for (long h : dump.blockHashes()) {
            dumped.add(h);
        }
        assertThat(dumped).as("the dump is what the events announced").isEqualTo(held);
        assertThat(held).isNotEmpty();
    }

    @Test
    void aRepeatedPromptReportsCachedTokens() {
        requires(capabilities().prefixCacheUsage(), "prefixCacheUsage");
        int[] p = prompt(4 * info.blockSize(), 9);
        run(request(p, SamplingParams.GREEDY, StopConditions.maxTokens(2))).assertFinished();
        GenerationResult again = run(request(p, SamplingParams.GREEDY, StopConditions.maxTokens(2)));
        again.assertFinished();
        assertThat(again.finalUsage().cachedPromptTokens())
                .as("cached prompt tokens of a repeated %d-token prompt", p.length)
                .isGreaterThanOrEqualTo(info.blockSize());
    }

    /** Fails the test with {@code message}; for subclasses' own cases. */
    protected static void failWith(String message) {
        fail(message);
    }
}
