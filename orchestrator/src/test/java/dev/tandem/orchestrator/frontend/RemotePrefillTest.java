package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.discovery.ModelCards;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.proto.ModelCard;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingPolicies;
import dev.tandem.orchestrator.router.RoutingRequest;
import dev.tandem.orchestrator.runtime.WorkerClient;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The frontend's choice to prefill a prompt on the peer that caches it: taken when the peer's queue, the tokens it
 * lacks and moving the prompt's KV come to less than prefilling on the decoder; not taken when the peer is busy.
 */
class RemotePrefillTest {

    private static final int BS = 16;

    private Discovery discovery;
    private EventPlane events;
    private final List<String> prefillCalls = new ArrayList<>();
    private Router router;
    private WorkerPool pool;

    /** A worker that answers a prefill with one token and transfer parameters. */
    private WorkerClient client(String id) {
        return new WorkerClient() {
            @Override
            public String instanceId() {
                return id;
            }

            @Override
            public Generation generate(GenerateRequest request, TokenListener listener) {
                prefillCalls.add(id);
                listener.onDelta(new TokenDelta(
                        new int[] {42},
                        FinishReason.LENGTH,
                        new Usage(request.promptLength(), 288, 1),
                        null,
                        null,
                        "{\"do_remote_prefill\":true}"));
                return new Generation() {
                    @Override
                    public String requestId() {
                        return request.requestId();
                    }

                    @Override
                    public void cancel() {}
                };
            }

            @Override
            public KvStateDump dumpKvState() {
                return new KvStateDump(id, 0, new long[0]);
            }
        };
    }

    private void start() throws Exception {
        String name = "memory:remote-prefill-" + java.util.UUID.randomUUID();
        discovery = DiscoveryProvider.open(URI.create(name));
        events = EventPlaneProvider.open(URI.create(name));
        router = new Router(RoutingPolicies.create("tandem"));
        router.resyncOn(Runnable::run);
        pool = new WorkerPool("ns", BS, router, discovery, events, address -> client(address));
        var lease = discovery.grantLease(Duration.ofSeconds(30));
        for (String id : List.of("v", "w")) {
            ModelCard card = ModelCard.newBuilder()
                    .setModel("m")
                    .setInstanceId(id)
                    .setBlockSize(BS)
                    .setContextLength(4096)
                    .setKvBlocks(1024)
                    .setRole("agg")
                    .setAddress(id)
                    .setKvTransfer(true)
                    .build();
            discovery.put(DiscoveryKeys.model("ns", "m", id), ModelCards.encode(card), lease);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (pool.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(pool.size()).isEqualTo(2);
    }

    @AfterEach
    void stop() {
        pool.close();
        events.close();
        discovery.close();
    }

    private RemotePrefill.Result decide(int[] prompt) throws Exception {
        long[] hashes = BlockHasher.unsalted().sequenceHashes(prompt, BS);
        GenerateRequest request = new GenerateRequest(
                "q", prompt, SamplingParams.GREEDY, StopConditions.maxTokens(16).withIgnoreEos(true));
        return RemotePrefill.maybe(
                "q",
                prompt,
                hashes,
                request,
                new Router.Decision("w", 0),
                pool.workersFor("m"),
                new HashSet<>(),
                router,
                pool,
                Disaggregation.DEFAULTS,
                Duration.ofSeconds(5));
    }

    private static int[] prompt() {
        int[] p = new int[300];
        for (int i = 0; i < p.length; i++) {
            p[i] = 1 + i % 250;
        }
        return p;
    }

    /** Worker v caches the prompt's first 18 blocks (288 tokens). */
    private void vCaches(int[] prompt) {
        long[] hashes = BlockHasher.unsalted().sequenceHashes(prompt, BS);
        router.onKvEvents(
                new KvEventBatch("v", 1, List.of(new KvEvent.BlockStored(null, java.util.Arrays.copyOf(hashes, 18)))),
                w -> null);
    }

    @Test
    void anIdlePeerThatCachesThePromptPrefillsItAndTheDecoderPullsIt() throws Exception {
        start();
        int[] prompt = prompt();
        vCaches(prompt);
        RemotePrefill.Result r = decide(prompt);
        assertThat(r).isNotNull();
        assertThat(r.workerId()).isEqualTo("v");
        assertThat(r.kvTransferParams()).contains("do_remote_prefill");
        assertThat(prefillCalls).containsExactly("v");
    }

    @Test
    void aPeerWhoseQueueOutweighsItsCacheIsPassedOver() throws Exception {
        start();
        int[] prompt = prompt();
        vCaches(prompt);
        // 2,000 prefill tokens queued on v: more than the 300 the decoder would compute itself
        router.route(new RoutingRequest("busy", 2000, new long[0], BS), List.of("v"));
        assertThat(decide(prompt)).isNull();
        assertThat(prefillCalls).isEmpty();
    }

    @Test
    void aPeerCachingLessThanTheMinimumMoreIsNotWorthATransfer() throws Exception {
        start();
        int[] prompt = prompt();
        long[] hashes = BlockHasher.unsalted().sequenceHashes(prompt, BS);
        router.onKvEvents(
                new KvEventBatch("v", 1, List.of(new KvEvent.BlockStored(null, java.util.Arrays.copyOf(hashes, 15)))),
                w -> null); // 240 tokens < --peer-kv-min-tokens 256
        assertThat(decide(prompt)).isNull();
        assertThat(prefillCalls).isEmpty();
    }
}
