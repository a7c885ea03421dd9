package dev.tandem.adapters.vllm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.adapters.launch.LaunchedEngine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.testing.SharedFixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * {@code --engine vllm} end to end against a fake executable: the fake vLLM server of ../shared/checks/lib, run as
 * the {@code --vllm-command} on the system Python (it needs Debian's python3-zmq and python3-msgpack, which .ci/run
 * installs). The child is launched with the block size and a KV-events configuration, serves requests, publishes
 * events that arrive as Tandem's, is restarted when it dies, and is gone with its whole tree on close.
 */
class VllmEngineTest {

    private static final int BS = 16;

    private static void eventually(String what, BooleanSupplier ok) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!ok.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static List<Integer> generate(LaunchedEngine engine, int[] prompt, int n) throws Exception {
        List<Integer> ids = new CopyOnWriteArrayList<>();
        CompletableFuture<EngineException> end = new CompletableFuture<>();
        engine.generate(
                new GenerateRequest(
                        "r" + System.nanoTime(), prompt, SamplingParams.GREEDY, StopConditions.maxTokens(n)),
                new TokenListener() {
                    @Override
                    public void onDelta(TokenDelta d) {
                        for (int t : d.tokenIds()) {
                            ids.add(t);
                        }
                        if (d.isFinal()) {
                            end.complete(null);
                        }
                    }

                    @Override
                    public void onError(EngineException e) {
                        end.complete(e);
                    }
                });
        assertThat(end.get(30, TimeUnit.SECONDS)).isNull();
        return ids;
    }

    @Test
    void aSupervisedVllmServesPublishesRestartsAndStopsWithItsTree() throws Exception {
        Path fake = SharedFixtures.require("checks/lib/fake_vllm.py");
        List<KvEventBatch> events = new CopyOnWriteArrayList<>();
        LaunchedEngine engine = (LaunchedEngine) new VllmEngineProvider()
                .create(EngineConfig.builder()
                        .workerId("w0")
                        .model("fake-llm")
                        .blockSize(BS)
                        .kvEvents(events::add)
                        .options(Map.of("command", "/usr/bin/python3 " + fake, "startup-timeout", "60"))
                        .build());
        long firstPid;
        try {
            assertThat(engine.info().modelName()).isEqualTo("fake-llm");
            int[] prompt = new int[3 * BS];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 3 + (i * 37) % 500;
            }
            assertThat(generate(engine, prompt, 4)).hasSize(4);
            long[] want = BlockHasher.unsalted().sequenceHashes(prompt, BS);
            eventually(
                    "the prompt's blocks arrive as Tandem's hashes",
                    () -> events.stream()
                            .flatMap(b -> b.events().stream())
                            .filter(e -> e instanceof KvEvent.BlockStored)
                            .flatMapToLong(e -> java.util.Arrays.stream(((KvEvent.BlockStored) e).blockHashes()))
                            .boxed()
                            .toList()
                            .containsAll(java.util.Arrays.stream(want).boxed().toList()));
            assertThat(engine.dumpKvState().blockHashes()).contains(want);

            firstPid = engine.process().pid();
            ProcessHandle.of(firstPid).orElseThrow().destroyForcibly();
            eventually("the child is restarted", () -> {
                try {
                    return engine.process().pid() != firstPid
                            && engine.process().healthy();
                } catch (RuntimeException e) {
                    return false;
                }
            });
            int before = events.size();
            assertThat(generate(engine, prompt, 2)).hasSize(2);
            eventually("the restarted engine's events drop the old blocks first", () -> events.size() > before);
            List<KvEvent> after = new ArrayList<>();
            // A snapshot: a sublist of a CopyOnWriteArrayList fails when a batch arrives while it is read.
            List<KvEventBatch> seen = List.copyOf(events);
            seen.subList(before, seen.size()).forEach(b -> after.addAll(b.events()));
            assertThat(after.getFirst()).isInstanceOf(KvEvent.AllBlocksCleared.class);
        } finally {
            engine.close();
        }
        long pid = engine.process().pid();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .isFalse();
    }

    @Test
    void aCommandThatCannotStartFailsWithItsOutput() {
        assertThatThrownBy(() -> new VllmEngineProvider()
                        .create(EngineConfig.builder()
                                .model("m")
                                .options(Map.of("command", "/bin/sh -c 'echo no GPU found >&2; exit 3' --"))
                                .build()))
                .isInstanceOf(EngineException.class)
                .hasMessageContaining("exited with status 3")
                .hasMessageContaining("no GPU found");
    }

    @Test
    void unknownOptionsAndAMissingModelAreRefused() {
        assertThatThrownBy(() -> new VllmEngineProvider()
                        .create(EngineConfig.builder()
                                .model("m")
                                .options(Map.of("comand", "vllm"))
                                .build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("comand");
        assertThatThrownBy(() ->
                        new VllmEngineProvider().create(EngineConfig.builder().build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--model");
    }
}
