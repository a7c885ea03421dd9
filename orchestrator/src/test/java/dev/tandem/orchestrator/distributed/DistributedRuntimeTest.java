package dev.tandem.orchestrator.distributed;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.discovery.testing.EtcdServer;
import dev.tandem.discovery.testing.NatsServer;
import dev.tandem.discovery.testing.ServerProcess;
import dev.tandem.orchestrator.distributed.ChatStreams.Streamed;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distributed runtime with real processes: etcd and nats-server (started by the discovery module's test helpers
 * on free loopback ports), sim workers and frontends each in a JVM of its own, started through the CLI like {@code
 * bin/tandem} starts them. Clients talk raw HTTP (server-sent events) or use the official OpenAI SDK.
 *
 * <p>One cluster serves the whole class (JVM starts dominate the time): each test first makes sure that exactly two
 * live workers are registered and seen by the frontend, starting fresh worker processes to replace those an earlier
 * test stopped. The sim engine is deterministic given the sequence, so a greedy, fixed-length stream has one right
 * output, whatever worker (or succession of workers) produces it.
 *
 * <p>Without etcd or nats-server installed the tests are skipped with the reason, or fail with CI=true.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DistributedRuntimeTest {

    private static final int LEASE_TTL_S = 3;
    private static final String INSTANCES = DiscoveryKeys.ROOT + "instances/" + DiscoveryKeys.DEFAULT_NAMESPACE + "/";

    @TempDir
    static Path logs;

    private static EtcdServer etcd;
    private static NatsServer nats;
    /** A client of etcd in the test JVM, to look at what is registered. */
    private static Discovery discovery;

    private static final List<TandemProcess> processes = new CopyOnWriteArrayList<>();
    private static final Map<String, TandemProcess> workers = new LinkedHashMap<>();
    private static final Map<Integer, TandemProcess> frontends = new LinkedHashMap<>();
    private static int frontendPort;
    private static int nextWorker = 1;
    private static int nextFrontend = 1;

    /** On a failure, the tail of every process's log goes to the test output. */
    @RegisterExtension
    static final TestWatcher LOGS_ON_FAILURE = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            StringBuilder out = new StringBuilder("---- logs after the failure of " + context.getDisplayName());
            for (TandemProcess p : processes) {
                out.append("\n==== ")
                        .append(p)
                        .append(p.isAlive() ? "" : " (exited)")
                        .append('\n');
                out.append(p.logTail(40));
            }
            if (etcd != null) {
                out.append("\n==== etcd\n").append(etcd.logTail());
            }
            System.err.println(out);
        }
    };

    @BeforeAll
    static void startCluster() throws Exception {
        etcd = EtcdServer.launch();
        nats = NatsServer.launch();
        discovery = DiscoveryProvider.open(etcd.uri());
        startWorker();
        startWorker();
        frontendPort = startFrontend();
        ensureTwoWorkers();
    }

    @AfterAll
    static void stopCluster() {
        processes.forEach(TandemProcess::close);
        if (discovery != null) {
            discovery.close();
        }
        if (nats != null) {
            nats.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void twoLiveWorkers() throws Exception {
        ensureTwoWorkers();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (a) the basic arrangement

    @Test
    @Order(1)
    void oneFrontendAndTwoWorkerProcessesStreamChatCompletionsNamingTheServingWorker() throws Exception {
        JsonNode models = ChatStreams.get(frontendPort, "/v1/models").json();
        assertThat(models.path("data").findValuesAsText("id")).containsExactly(ChatStreams.MODEL);

        String tag = tag();
        List<CompletableFuture<Streamed>> streams = IntStream.range(0, 4)
                .mapToObj(i -> async(() -> ChatStreams.chat(frontendPort, tag + " stream " + i + ": a story", 48)))
                .toList();
        for (CompletableFuture<Streamed> f : streams) {
            Streamed s = f.get(60, TimeUnit.SECONDS);
            assertThat(s.ok()).as("%s", s).isTrue();
            assertThat(s.worker()).as("the worker header").isIn(workers.keySet());
            assertThat(s.completionTokens()).isEqualTo(48);
            assertThat(s.finishReason()).isEqualTo("length");
            assertThat(s.text()).isNotEmpty();
        }

        // The official SDK over the same processes streams the same text as the raw client.
        Streamed raw = streams.get(0).get();
        OpenAIClient sdk = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + frontendPort + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .build();
        try {
            StringBuilder text = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> chunks = sdk.chat()
                    .completions()
                    .createStreaming(ChatCompletionCreateParams.builder()
                            .model(ChatStreams.MODEL)
                            .addUserMessage(tag + " stream 0: a story")
                            .maxCompletionTokens(48)
                            .temperature(0.0)
                            .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                            .build())) {
                chunks.stream()
                        .flatMap(c -> c.choices().stream())
                        .forEach(c -> c.delta().content().ifPresent(text::append));
            }
            assertThat(text.toString()).isEqualTo(raw.text());
        } finally {
            sdk.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (f) several frontends

    @Test
    @Order(2)
    void twoFrontendsServeTheSameWorkers() throws Exception {
        int second = startFrontend();
        try {
            eventually(
                    "the second frontend sees both workers", Duration.ofSeconds(20), () -> healthWorkers(second) == 2);
            for (int port : List.of(frontendPort, second)) {
                assertThat(ChatStreams.get(port, "/v1/models")
                                .json()
                                .path("data")
                                .findValuesAsText("id"))
                        .as("models listed by the frontend on port %d", port)
                        .containsExactly(ChatStreams.MODEL);
            }
            String prompt = tag() + ": the same question to two frontends";
            CompletableFuture<Streamed> viaFirst = async(() -> ChatStreams.chat(frontendPort, prompt, 64));
            CompletableFuture<Streamed> viaSecond = async(() -> ChatStreams.chat(second, prompt, 64));
            Streamed a = viaFirst.get(60, TimeUnit.SECONDS);
            Streamed b = viaSecond.get(60, TimeUnit.SECONDS);
            assertThat(a.ok()).as("%s", a).isTrue();
            assertThat(b.ok()).as("%s", b).isTrue();
            assertThat(List.of(a.worker(), b.worker())).allMatch(workers::containsKey);
            assertThat(b.sameOutputAs(a)).as("%s vs %s", b, a).isTrue();
        } finally {
            stopFrontend(second);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (e) NATS restarting

    @Test
    @Order(3)
    void restartingNatsLosesNoRequestAndKvEventsReachTheRouterAgain() throws Exception {
        List<TandemProcess> clients = new ArrayList<>(workers.values());
        clients.add(frontends.get(frontendPort));
        Map<TandemProcess, Integer> reconnects = new LinkedHashMap<>();
        clients.forEach(p -> reconnects.put(p, p.count("NATS: reconnected")));

        try (Load load = new Load(frontendPort, 2)) {
            load.awaitCompleted(4);
            nats.restart(); // SIGKILL, then the same port
            eventually(
                    "every process reconnected to NATS",
                    Duration.ofSeconds(20),
                    () -> clients.stream().allMatch(p -> p.count("NATS: reconnected") > reconnects.get(p)));
            int before = load.completed();
            load.awaitCompleted(before + 4);
            load.stop();
            assertThat(load.failures())
                    .as("requests that failed around the NATS restart")
                    .isEmpty();
        }

        // KV events flow again: two new long prompts, sent together, land on different workers (neither is cached
        // anywhere, and the router spreads concurrent work); each, sent again, goes back to the worker that holds
        // it, which reports its prompt as cached. A router that had lost the KV events would see no overlap and
        // send both repeats to the same (idle, first-sorted) worker.
        // Whether two "concurrent" prompts overlap in time depends on the machine: when one is through its prefill
        // before the other is routed, both may go to the same idle worker. A fresh pair is tried then, a few times.
        String a = null;
        String b = null;
        Streamed fa = null;
        Streamed fb = null;
        for (int attempt = 0; attempt < 5 && (fa == null || fa.worker().equals(fb.worker())); attempt++) {
            String tag = tag();
            String pa = "A " + tag + " " + "the quick brown fox jumps over the lazy dog; ".repeat(20);
            String pb = "B " + tag + " " + "pack my box with five dozen liquor jugs, twice; ".repeat(20);
            CompletableFuture<Streamed> firstA = async(() -> ChatStreams.chat(frontendPort, pa, 32));
            CompletableFuture<Streamed> firstB = async(() -> ChatStreams.chat(frontendPort, pb, 32));
            fa = firstA.get(60, TimeUnit.SECONDS);
            fb = firstB.get(60, TimeUnit.SECONDS);
            assertThat(fa.ok()).as("%s", fa).isTrue();
            assertThat(fb.ok()).as("%s", fb).isTrue();
            a = pa;
            b = pb;
        }
        assertThat(fa.worker()).as("concurrent new prompts are spread").isNotEqualTo(fb.worker());
        Thread.sleep(500); // the KV events of both prefills cross NATS
        Streamed againA = ChatStreams.chat(frontendPort, a, 32);
        Streamed againB = ChatStreams.chat(frontendPort, b, 32);
        assertThat(againA.worker()).as("prompt A goes back to its worker").isEqualTo(fa.worker());
        assertThat(againB.worker()).as("prompt B goes back to its worker").isEqualTo(fb.worker());
        assertThat(againA.cachedTokens()).as("cached tokens of A").isGreaterThan(0);
        assertThat(againB.cachedTokens()).as("cached tokens of B").isGreaterThan(0);
        assertThat(againA.sameOutputAs(fa)).isTrue();
        assertThat(againB.sameOutputAs(fb)).isTrue();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (d) etcd restarting

    @Test
    @Order(4)
    void restartingEtcdForLongerThanTheLeaseLosesNoRequestAndTheWorkersStayRegistered() throws Exception {
        Set<String> registered = instanceIds();
        assertThat(registered).isEqualTo(workers.keySet());

        try (Load load = new Load(frontendPort, 2)) {
            load.awaitCompleted(4);
            etcd.kill(); // SIGKILL; its data directory stays
            int beforeOutage = load.completed();
            // Down for longer than the workers' lease TTL: their keep-alives lapse, and the leases with them.
            Thread.sleep(TimeUnit.SECONDS.toMillis(LEASE_TTL_S) + 1_500);
            assertThat(load.completed())
                    .as("requests served while etcd was down (the frontend serves from what it knows)")
                    .isGreaterThan(beforeOutage);
            etcd.start(); // the same ports and data directory
            eventually(
                    "both workers are registered again",
                    Duration.ofSeconds(20),
                    () -> registered.equals(instanceIdsOrEmpty()));
            // Whatever etcd restored of the old leases has run out by now: the registrations must outlive it.
            Thread.sleep(TimeUnit.SECONDS.toMillis(LEASE_TTL_S) + 2_000);
            assertThat(instanceIds())
                    .as("registered workers after etcd came back")
                    .isEqualTo(registered);
            for (String id : registered) {
                assertThat(workers.get(id).log())
                        .as("%s lost its lease during the outage and registered again", id)
                        .contains("worker " + id + ": its lease")
                        .contains("registered again under lease");
            }
            assertThat(healthWorkers(frontendPort))
                    .as("workers the frontend routes to")
                    .isEqualTo(2);
            int afterRestart = load.completed();
            load.awaitCompleted(afterRestart + 4);
            load.stop();
            assertThat(load.failures())
                    .as("requests that failed around the etcd restart")
                    .isEmpty();
        }
        Streamed fresh = ChatStreams.chat(frontendPort, tag() + ": after the etcd restart", 32);
        assertThat(fresh.ok()).as("%s", fresh).isTrue();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (c) SIGTERM: drain

    @Test
    @Order(5)
    void aWorkerStoppedWithSigtermDeregistersAtOnceAndFinishesItsInFlightStreamItself() throws Exception {
        String prompt = tag() + ": a long story, told to the end";
        Streamed reference = ChatStreams.chat(frontendPort, prompt, 300);
        assertThat(reference.ok()).as("%s", reference).isTrue();

        CountDownLatch midStream = new CountDownLatch(1);
        String[] serving = new String[1];
        CompletableFuture<Streamed> inFlight = async(() -> ChatStreams.chat(frontendPort, prompt, 300, (w, n) -> {
            if (n == 20) {
                serving[0] = w;
                midStream.countDown();
            }
        }));
        assertThat(midStream.await(30, TimeUnit.SECONDS))
                .as("the stream is under way")
                .isTrue();
        String victimId = serving[0];
        TandemProcess victim = workers.get(victimId);
        String survivor = other(victimId);
        long sigterm = System.nanoTime();
        victim.terminate();

        eventually(
                "the frontend drops the stopping worker",
                Duration.ofSeconds(10),
                () -> healthWorkers(frontendPort) == 1);
        long droppedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
        assertThat(instanceIds()).as("registered workers").containsExactly(survivor);
        assertThat(droppedMs)
                .as("deregistration is immediate, not the lease running out (%d s)", LEASE_TTL_S)
                .isLessThan(TimeUnit.SECONDS.toMillis(LEASE_TTL_S) - 1_000);
        assertThat(inFlight).as("the in-flight stream is still running").isNotDone();
        for (int i = 0; i < 3; i++) {
            Streamed s = ChatStreams.chat(frontendPort, tag() + ": while " + victimId + " drains " + i, 8);
            assertThat(s.ok()).as("%s", s).isTrue();
            assertThat(s.worker()).as("new requests go to the remaining worker").isEqualTo(survivor);
        }

        Streamed drained = inFlight.get(60, TimeUnit.SECONDS);
        assertThat(drained.ok()).as("%s", drained).isTrue();
        assertThat(drained.worker()).isEqualTo(victimId);
        assertThat(drained.sameOutputAs(reference))
                .as("%s vs %s", drained, reference)
                .isTrue();
        assertThat(frontends.get(frontendPort).log())
                .as("the frontend migrated nothing away from the draining worker")
                .doesNotContain("worker " + victimId + " failed after");

        int status = victim.awaitExit(Duration.ofSeconds(30));
        // 143 = 128 + SIGTERM: the JVM's status after an orderly shutdown on SIGTERM (shutdown hooks ran).
        assertThat(status).as("exit status of the stopped worker").isIn(0, 143);
        assertThat(victim.log()).contains("tandem: worker " + victimId + " draining");
        workers.remove(victimId);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (b) SIGKILL: migration and lease expiry

    @Test
    @Order(6)
    void aWorkerKilledMidStreamLosesNoClientStreamAndItsKeysVanishWithinItsLease() throws Exception {
        String tag = tag();
        List<String> prompts = IntStream.range(0, 4)
                .mapToObj(i -> tag + " request number " + i + ": tell a long story")
                .toList();
        List<Streamed> reference = runAll(prompts);
        reference.forEach(s -> assertThat(s.ok()).as("%s", s).isTrue());

        CountDownLatch midStream = new CountDownLatch(prompts.size());
        String[] serving = new String[prompts.size()];
        List<CompletableFuture<Streamed>> faulty = IntStream.range(0, prompts.size())
                .mapToObj(i -> async(() -> ChatStreams.chat(frontendPort, prompts.get(i), 300, (w, n) -> {
                    if (n == 10) {
                        serving[i] = w;
                        midStream.countDown();
                    }
                })))
                .toList();
        assertThat(midStream.await(30, TimeUnit.SECONDS))
                .as("every stream is under way")
                .isTrue();
        // The victim: the worker serving the first stream.
        String victimId = serving[0];
        TandemProcess victim = workers.get(victimId);
        long killed = System.nanoTime();
        victim.kill();
        workers.remove(victimId);

        int onVictim = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Streamed s = faulty.get(i).get(60, TimeUnit.SECONDS);
            assertThat(s.ok()).as("stream %d: %s", i, s).isTrue();
            assertThat(s.sameOutputAs(reference.get(i)))
                    .as("stream %d, token-exact: %s vs %s", i, s, reference.get(i))
                    .isTrue();
            if (victimId.equals(s.worker())) {
                onVictim++;
            }
        }
        assertThat(onVictim).as("streams that started on the killed worker").isGreaterThan(0);

        eventually(
                "the killed worker's keys vanish",
                Duration.ofSeconds(LEASE_TTL_S + 5),
                () -> !instanceIdsOrEmpty().contains(victimId));
        long goneMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
        // The TTL, plus etcd's lease-expiry tick (500 ms) and this test's polling.
        assertThat(goneMs).as("ms until the killed worker's keys vanished").isLessThan(LEASE_TTL_S * 1_000L + 1_000);
        assertThat(discovery.list(DiscoveryKeys.modelsPrefix(DiscoveryKeys.DEFAULT_NAMESPACE)).stream()
                        .map(kv -> DiscoveryKeys.instanceIdOf(kv.key())))
                .as("model cards")
                .doesNotContain(victimId);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Cluster

    private static TandemProcess startWorker() {
        String id = "w" + nextWorker++;
        TandemProcess p = TandemProcess.start(
                id,
                logs,
                List.of(
                        "worker",
                        "--engine",
                        "sim",
                        "--instance-id",
                        id,
                        "--discovery",
                        "etcd://127.0.0.1:" + etcd.clientPort(),
                        "--events",
                        "nats://127.0.0.1:" + nats.port(),
                        "--lease-ttl",
                        Integer.toString(LEASE_TTL_S),
                        "--kv-blocks",
                        "4096",
                        "--drain-seconds",
                        "30"));
        processes.add(p);
        workers.put(id, p);
        return p;
    }

    /** Starts a frontend and waits until it answers HTTP; returns its port. */
    private static int startFrontend() throws Exception {
        int port = ServerProcess.freePort();
        TandemProcess p = TandemProcess.start(
                "frontend" + nextFrontend++,
                logs,
                List.of(
                        "frontend",
                        "--port",
                        Integer.toString(port),
                        "--discovery",
                        "etcd://127.0.0.1:" + etcd.clientPort(),
                        "--events",
                        "nats://127.0.0.1:" + nats.port()));
        processes.add(p);
        frontends.put(port, p);
        eventually("frontend " + p + " answers", Duration.ofSeconds(60), () -> {
            assertThat(p.isAlive())
                    .as("%s is running; log:\n%s", p, p.logTail(30))
                    .isTrue();
            return ChatStreams.get(port, "/v1/models").status() == 200;
        });
        return port;
    }

    private static void stopFrontend(int port) {
        TandemProcess p = frontends.remove(port);
        if (p != null) {
            p.terminate();
            p.awaitExit(Duration.ofSeconds(10));
            p.close();
        }
    }

    /**
     * Replaces stopped workers until two live ones run, then waits until exactly they are registered and every
     * frontend routes to both.
     */
    private static void ensureTwoWorkers() throws Exception {
        workers.values().removeIf(p -> !p.isAlive());
        while (workers.size() < 2) {
            startWorker();
        }
        eventually("exactly the live workers " + workers.keySet() + " are registered", Duration.ofSeconds(60), () -> {
            workers.values()
                    .forEach(p -> assertThat(p.isAlive())
                            .as("%s is running; log:\n%s", p, p.logTail(30))
                            .isTrue());
            return instanceIdsOrEmpty().equals(workers.keySet());
        });
        for (int port : frontends.keySet()) {
            eventually(
                    "the frontend on port " + port + " routes to both workers",
                    Duration.ofSeconds(20),
                    () -> healthWorkers(port) == 2);
        }
    }

    /** Ids of the instances registered in etcd. */
    private static Set<String> instanceIds() throws IOException {
        Set<String> ids = new TreeSet<>();
        for (KeyValue kv : discovery.list(INSTANCES)) {
            ids.add(DiscoveryKeys.instanceIdOf(kv.key()));
        }
        return ids;
    }

    private static Set<String> instanceIdsOrEmpty() {
        try {
            return instanceIds();
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    /** The workers a frontend routes to (its /health), or -1 when it does not answer. */
    private static int healthWorkers(int port) {
        ChatStreams.Get g = ChatStreams.get(port, "/health");
        return g.status() == 200 ? g.json().path("workers").asInt(-1) : -1;
    }

    private static String other(String workerId) {
        return workers.keySet().stream()
                .filter(id -> !id.equals(workerId))
                .findFirst()
                .orElseThrow();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers

    private static String tag() {
        return "t" + Long.toHexString(System.nanoTime());
    }

    private static List<Streamed> runAll(List<String> prompts) throws Exception {
        List<CompletableFuture<Streamed>> fs = prompts.stream()
                .map(p -> async(() -> ChatStreams.chat(frontendPort, p, 300)))
                .toList();
        List<Streamed> out = new ArrayList<>();
        for (CompletableFuture<Streamed> f : fs) {
            out.add(f.get(60, TimeUnit.SECONDS));
        }
        return out;
    }

    private static <T> CompletableFuture<T> async(Supplier<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                f.complete(task.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    private static void eventually(String what, Duration timeout, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - deadline)
                    .as("%s within %s", what, timeout)
                    .isNegative();
            Thread.sleep(50);
        }
    }

    /** Requests sent back to back by a few client threads until stopped; every one must succeed. */
    private static final class Load implements AutoCloseable {
        private final List<Thread> threads = new ArrayList<>();
        private final List<String> failures = new CopyOnWriteArrayList<>();
        private final AtomicBoolean stopped = new AtomicBoolean();
        private final AtomicInteger completed = new AtomicInteger();

        Load(int port, int clients) {
            String tag = tag();
            for (int c = 0; c < clients; c++) {
                int client = c;
                threads.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; !stopped.get(); i++) {
                        Streamed s = ChatStreams.chat(port, tag + " load " + client + "/" + i, 24);
                        if (s.ok() && s.completionTokens() == 24) {
                            completed.incrementAndGet();
                        } else {
                            failures.add(s.toString());
                        }
                    }
                }));
            }
        }

        int completed() {
            return completed.get();
        }

        void awaitCompleted(int n) throws InterruptedException {
            eventually(
                    n + " load requests completed (" + failures + " failed)",
                    Duration.ofSeconds(30),
                    () -> completed.get() >= n);
        }

        List<String> failures() {
            return failures;
        }

        void stop() throws InterruptedException {
            stopped.set(true);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(60));
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
