package dev.tandem.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import dev.tandem.api.time.ManualClock;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.sim.SimEngineProvider;
import dev.tandem.engine.sim.SimTimingModel;
import dev.tandem.engine.testing.RecordingListener;
import dev.tandem.engine.testing.SimReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class EngineCoreTest {

    private final List<KvEventBatch> batches = new ArrayList<>();

    private EngineCore core(int blockSize, int kvBlocks, int budget) {
        return SimEngineProvider.core(EngineConfig.builder()
                .workerId("core-1")
                .blockSize(blockSize)
                .kvBlocks(kvBlocks)
                .maxNumBatchedTokens(budget)
                .seed(5)
                .clock(new ManualClock())
                .kvEvents(batches::add)
                .options(Map.of("vocab-size", "500"))
                .build());
    }

    private static RecordingListener add(EngineCore core, String id, int[] prompt, int maxTokens) {
        RecordingListener l = new RecordingListener();
        core.scheduler()
                .add(new Sequence(
                        new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(maxTokens)),
                        l,
                        0));
        return l;
    }

    private static void drain(EngineCore core) {
        for (int i = 0; i < 100_000 && core.scheduler().hasWork(); i++) {
            assertThat(core.step()).as("step %d made progress", i).isNotNegative();
        }
        assertThat(core.scheduler().hasWork()).isFalse();
    }

    private static Set<Long> replay(List<KvEventBatch> batches) {
        Set<Long> cached = new HashSet<>();
        for (KvEventBatch b : batches) {
            for (KvEvent e : b.events()) {
                switch (e) {
                    case KvEvent.BlockStored s -> Arrays.stream(s.blockHashes()).forEach(cached::add);
                    case KvEvent.BlockRemoved r ->
                        Arrays.stream(r.blockHashes()).forEach(cached::remove);
                    case KvEvent.AllBlocksCleared c -> cached.clear();
                }
            }
        }
        return cached;
    }

    @Test
    void anIdleCoreStepsNothingAndPublishesNothing() {
        EngineCore core = core(4, 16, 64);
        assertThat(core.step()).isEqualTo(-1);
        assertThat(core.steps()).isZero();
        assertThat(batches).isEmpty();
        KvStateDump dump = core.dumpKvState();
        assertThat(dump.workerId()).isEqualTo("core-1");
        assertThat(dump.lastEventId()).isZero();
        assertThat(dump.blockHashes()).isEmpty();
    }

    @Test
    void aStepReturnsItsModeledDuration() {
        EngineCore core = core(4, 100, 64);
        add(core, "r", SimReference.prompt(40, 1), 3);
        assertThat(core.step()).isEqualTo((long) (SimTimingModel.prefillMillis(40) * 1e6));
        // 41 tokens: 11 of the 100 blocks in use during the decode.
        assertThat(core.step()).isEqualTo((long) (SimTimingModel.decodeMillis(0.11) * 1e6));
        assertThat(core.steps()).isEqualTo(2);
    }

    @Test
    void kvEventBatchesCarryConsecutiveIdsAndReplayToTheDump() {
        EngineCore core = core(4, 12, 16);
        for (int i = 0; i < 6; i++) {
            add(core, "r" + i, SimReference.prompt(10 + 3 * i, i % 2), 8);
            drain(core);
        }
        assertThat(batches).hasSizeGreaterThan(3);
        for (int i = 0; i < batches.size(); i++) {
            assertThat(batches.get(i).eventId()).isEqualTo(i + 1);
            assertThat(batches.get(i).workerId()).isEqualTo("core-1");
            assertThat(batches.get(i).events()).isNotEmpty();
        }
        assertThat(batches)
                .as("the small cache had to evict")
                .anySatisfy(b -> assertThat(b.events()).hasAtLeastOneElementOfType(KvEvent.BlockRemoved.class));
        KvStateDump dump = core.dumpKvState();
        assertThat(dump.lastEventId()).isEqualTo(batches.size());
        assertThat(Arrays.stream(dump.blockHashes()).boxed().collect(Collectors.toSet()))
                .isEqualTo(replay(batches));
    }

    @Test
    void eventsOfAnAdmissionThatDoesNotStepArePublishedByTheDump() {
        EngineCore core = core(4, 8, 64);
        add(core, "a", SimReference.prompt(16, 1), 1);
        drain(core);
        int published = batches.size();
        // Admitting this prompt evicts a's cached blocks; publish without stepping.
        core.scheduler()
                .add(new Sequence(
                        new GenerateRequest(
                                "b", SimReference.prompt(30, 2), SamplingParams.GREEDY, StopConditions.maxTokens(1)),
                        new RecordingListener(),
                        0));
        core.scheduler().schedule();
        KvStateDump dump = core.dumpKvState();
        assertThat(batches).hasSize(published + 1);
        assertThat(dump.lastEventId()).isEqualTo(published + 1);
        assertThat(Arrays.stream(dump.blockHashes()).boxed().collect(Collectors.toSet()))
                .isEqualTo(replay(batches));
    }

    @Test
    void loadReflectsTheScheduler() {
        EngineCore core = SimEngineProvider.core(EngineConfig.builder()
                .workerId("core-2")
                .blockSize(4)
                .kvBlocks(64)
                .maxNumBatchedTokens(8)
                .maxNumSeqs(1)
                .clock(new ManualClock())
                .build());
        add(core, "a", SimReference.prompt(20, 1), 5);
        add(core, "b", SimReference.prompt(6, 2), 5);
        LoadSnapshot before = core.load(42);
        assertThat(before).isEqualTo(new LoadSnapshot("core-2", 0, 2, 0, 64, 26, 42));
        core.step();
        LoadSnapshot after = core.load(43);
        assertThat(after.runningRequests()).isEqualTo(1);
        assertThat(after.waitingRequests()).isEqualTo(1);
        assertThat(after.kvBlocksUsed()).isEqualTo(2);
        assertThat(after.pendingPrefillTokens()).isEqualTo(12 + 6);
        drain(core);
        LoadSnapshot done = core.load(44);
        assertThat(done).isEqualTo(new LoadSnapshot("core-2", 0, 0, 0, 64, 0, 44, 26, 0, 0));
    }

    @Test
    void theLoadCountsPrefixCacheQueriesAndHitsInTokens() {
        EngineCore core = SimEngineProvider.core(EngineConfig.builder()
                .workerId("core-3")
                .blockSize(4)
                .kvBlocks(64)
                .clock(new ManualClock())
                .build());
        add(core, "a", SimReference.prompt(18, 1), 2);
        drain(core);
        add(core, "b", SimReference.prompt(18, 1), 2);
        drain(core);
        LoadSnapshot s = core.load(1);
        // the second request finds the first's four full blocks cached (the last token is always computed)
        assertThat(s.prefixQueryTokens()).isEqualTo(36);
        assertThat(s.prefixHitTokens()).isEqualTo(16);
        assertThat(s.preemptions()).isZero();
    }

    @Property(tries = 100)
    void aRequestContinuedElsewhereWithItsTokensSoFarProducesTheSameRemainder(
            @ForAll @IntRange(min = 1, max = 60) int promptLength,
            @ForAll @IntRange(min = 2, max = 40) int total,
            @ForAll @IntRange(min = 1, max = 39) int cut,
            @ForAll @IntRange(min = 1, max = 16) int budget) {
        int k = Math.min(cut, total - 1);
        int[] prompt = SimReference.prompt(promptLength, promptLength);
        EngineCore first = core(4, 64, 32);
        RecordingListener whole = add(first, "whole", prompt, total);
        drain(first);
        int[] all = whole.tokens();
        assertThat(all).hasSize(total);

        // Another worker (other block size, budget and cache state) continues from prompt + first k tokens.
        EngineCore other = core(8, 64, budget);
        add(other, "noise", SimReference.prompt(30, 9), 5);
        int[] continued = Arrays.copyOf(prompt, promptLength + k);
        System.arraycopy(all, 0, continued, promptLength, k);
        RecordingListener rest = add(other, "rest", continued, total - k);
        drain(other);
        assertThat(rest.tokens()).containsExactly(Arrays.copyOfRange(all, k, total));
        assertThat(rest.finishReason()).isEqualTo(FinishReason.LENGTH);
    }
}
