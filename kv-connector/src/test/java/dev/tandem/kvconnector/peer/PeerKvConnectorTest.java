package dev.tandem.kvconnector.peer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.FinishedRequest;
import dev.tandem.api.kv.connector.FinishedTransfers;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.KvLayout;
import dev.tandem.api.kv.connector.MatchedTokens;
import dev.tandem.api.kv.connector.MemoryKvBlockStore;
import dev.tandem.api.proto.KvBlockData;
import dev.tandem.api.proto.KvPullRequest;
import dev.tandem.api.proto.KvTransferGrpc;
import io.grpc.ClientCall;
import io.grpc.ForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two peer connectors over a real gRPC server on loopback, each on an off-heap block store: what a prefill worker
 * holds arrives at the decoder byte for byte, and every failure (corruption, a dead sender, a layout mismatch, an
 * expired lease) ends as blocks reported failed, never as wrong KV taken for right.
 */
class PeerKvConnectorTest {

    private static final KvLayout LAYOUT = new KvLayout(4, 3, 2, 8, "f32");
    private static final int BLOCKS = 16;

    private final Semaphore wakeups = new Semaphore(0);
    private MemoryKvBlockStore senderStore;
    private MemoryKvBlockStore receiverStore;
    private PeerKvConnector sender;
    private PeerKvConnector receiver;
    private Server server;

    private void start(Duration lease, ServerInterceptor... interceptors) throws Exception {
        start(LAYOUT, BLOCKS, lease, interceptors);
    }

    /** Both connectors on stores of {@code blocks} blocks, the sender's service behind {@code interceptors}. */
    private void start(KvLayout layout, int blocks, Duration lease, ServerInterceptor... interceptors)
            throws Exception {
        senderStore = new MemoryKvBlockStore(layout, blocks);
        receiverStore = new MemoryKvBlockStore(layout, blocks);
        fill(senderStore, 1);
        sender = new PeerKvConnector("prefill-0", lease, Duration.ofSeconds(20));
        receiver = new PeerKvConnector("decode-0", lease, Duration.ofSeconds(20));
        sender.register(new KvConnectorContext("prefill-0", senderStore, () -> {}));
        receiver.register(new KvConnectorContext("decode-0", receiverStore, wakeups::release));
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .addService(ServerInterceptors.intercept(sender.services().getFirst(), interceptors))
                .build()
                .start();
        sender.advertise("127.0.0.1:" + server.getPort());
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.shutdownNow();
        }
        if (receiver != null) {
            receiver.close();
            sender.close();
            senderStore.close();
            receiverStore.close();
        }
    }

    private static void fill(MemoryKvBlockStore store, int salt) {
        MemorySegment m = store.memory();
        for (long i = 0; i < m.byteSize() / 4; i++) {
            m.setAtIndex(ValueLayout.JAVA_INT, i, (int) (i * 2654435761L) ^ salt);
        }
    }

    private static ConnectorRequest request(String id, int tokens, String params) {
        return new ConnectorRequest(id, new int[tokens + 1], tokens + 1, tokens, tokens, new long[0], params);
    }

    /** The prefill side finishes {@code tokens} tokens in blocks 3.. and returns the transfer parameters. */
    private String hold(int tokens, int[] blocks) {
        FinishedRequest f = sender.requestFinished(
                request("p", tokens, "{\"do_remote_decode\":true}"), FinishReason.LENGTH, blocks);
        assertThat(f.holdBlocks()).isTrue();
        return f.kvTransferParams();
    }

    /** The decode side pulls {@code tokens} tokens into {@code blocks}; returns the blocks reported failed. */
    private Set<Integer> pull(String params, int tokens, int[] blocks) throws InterruptedException {
        ConnectorRequest r = new ConnectorRequest("d", new int[tokens + 1], tokens + 1, tokens, 0, new long[0], params);
        MatchedTokens m = receiver.matchedTokens(r, 0);
        assertThat(m.tokens()).isEqualTo(tokens);
        assertThat(m.async()).isTrue();
        assertThat(m.cacheHit()).isFalse();
        receiver.afterAllocation(r, blocks, 0, tokens);
        Set<String> received = new HashSet<>();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!received.contains("d") && System.nanoTime() < deadline) {
            wakeups.tryAcquire(100, TimeUnit.MILLISECONDS);
            received.addAll(receiver.finished().received());
        }
        assertThat(received).contains("d");
        return receiver.failedBlockLoads();
    }

    private void assertSameBlock(int senderBlock, int receiverBlock) {
        long bytes = LAYOUT.bytesPerBlock();
        MemorySegment a = senderStore.memory().asSlice(senderBlock * bytes, bytes);
        MemorySegment b = receiverStore.memory().asSlice(receiverBlock * bytes, bytes);
        assertThat(a.mismatch(b)).isEqualTo(-1L);
    }

    /** Sent requests reported by the sender within a few seconds. */
    private Set<String> sentWithin(Duration d) throws InterruptedException {
        Set<String> sent = new HashSet<>();
        long deadline = System.nanoTime() + d.toNanos();
        while (sent.isEmpty() && System.nanoTime() < deadline) {
            FinishedTransfers f = sender.finished();
            sent.addAll(f.sent());
            Thread.sleep(20);
        }
        return sent;
    }

    @Test
    void aHeldPrefillArrivesByteForByteIncludingItsPartialLastBlockAndIsReleasedOnce() throws Exception {
        start(Duration.ofSeconds(30));
        String params = hold(10, new int[] {3, 7, 5}); // 10 tokens of block size 4: two full blocks and a partial
        assertThat(params).contains("\"do_remote_prefill\":true").contains("\"remote_block_ids\":[3,7,5]");
        Set<Integer> failed = pull(params, 10, new int[] {0, 1, 2});
        assertThat(failed).isEmpty();
        assertSameBlock(3, 0);
        assertSameBlock(7, 1);
        assertSameBlock(5, 2);
        assertThat(sentWithin(Duration.ofSeconds(5))).containsExactly("p");
        assertThat(sender.heldTransfers()).isZero();
        assertThat(receiver.bytesPulled()).isEqualTo(3 * LAYOUT.bytesPerBlock());
        // A transfer is pulled once: a second pull finds nothing and recomputes everything.
        assertThat(pull(params, 10, new int[] {8, 9, 10})).containsExactlyInAnyOrder(8, 9, 10);
    }

    @Test
    void aLargeTransferIsStripedOverTwoConnectionsAndArrivesWhole() throws Exception {
        KvLayout big = new KvLayout(256, 4, 4, 16, "f32"); // 512 KiB blocks
        AtomicInteger streams = new AtomicInteger();
        start(big, 64, Duration.ofSeconds(30), new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                streams.incrementAndGet();
                return next.startCall(call, headers);
            }
        });
        int[] blocks = new int[64];
        for (int i = 0; i < 64; i++) {
            blocks[i] = 63 - i;
        }
        String params = hold(64 * 256, blocks);
        int[] local = new int[64];
        for (int i = 0; i < 64; i++) {
            local[i] = i;
        }
        assertThat(pull(params, 64 * 256, local)).isEmpty();
        assertThat(streams.get()).isEqualTo(2);
        long bytes = big.bytesPerBlock();
        for (int i = 0; i < 64; i++) {
            MemorySegment a = senderStore.memory().asSlice((63 - i) * bytes, bytes);
            MemorySegment b = receiverStore.memory().asSlice(i * bytes, bytes);
            assertThat(a.mismatch(b)).as("block %d", i).isEqualTo(-1L);
        }
        assertThat(sentWithin(Duration.ofSeconds(5))).containsExactly("p");
    }

    @Test
    void aBlockCorruptedOnTheWireFailsItsChecksumAndOnlyItIsRecomputed() throws Exception {
        AtomicInteger flipped = new AtomicInteger();
        start(Duration.ofSeconds(30), rewriting(m -> {
            if (m.getBlockIndex() == 1 && flipped.getAndIncrement() == 0) {
                byte[] data = m.getData().toByteArray();
                data[5] ^= 0x40;
                return m.toBuilder()
                        .setData(com.google.protobuf.ByteString.copyFrom(data))
                        .build();
            }
            return m;
        }));
        String params = hold(12, new int[] {3, 7, 5});
        assertThat(pull(params, 12, new int[] {0, 1, 2})).containsExactly(1);
        assertSameBlock(3, 0);
        assertSameBlock(5, 2);
        assertThat(flipped.get()).isEqualTo(1);
    }

    @Test
    void aSenderThatDiesMidTransferLeavesTheBlocksNotReceivedFailed() throws Exception {
        // Blocks of two 1 MiB messages (4 layers of 512 KiB): the sender dies in the middle of block 1.
        KvLayout big = new KvLayout(256, 4, 4, 64, "f32");
        AtomicInteger messages = new AtomicInteger();
        start(big, 8, Duration.ofSeconds(30), rewriting(m -> {
            if (messages.incrementAndGet() == 3) { // block 1, its first half
                server.shutdownNow();
            }
            return m;
        }));
        String params = sender.requestFinished(
                        request("p", 3 * 256, "{\"do_remote_decode\":true}"), FinishReason.LENGTH, new int[] {3, 7, 5})
                .kvTransferParams();
        Set<Integer> failed = pull(params, 3 * 256, new int[] {0, 1, 2});
        assertThat(failed).contains(1, 2).doesNotContain(0);
        long bytes = big.bytesPerBlock();
        assertThat(senderStore
                        .memory()
                        .asSlice(3 * bytes, bytes)
                        .mismatch(receiverStore.memory().asSlice(0, bytes)))
                .isEqualTo(-1L);
    }

    @Test
    void aDecoderWithAnotherLayoutRecomputesInsteadOfPulling() throws Exception {
        start(Duration.ofSeconds(30));
        String params = hold(8, new int[] {3, 7});
        PeerKvConnector other = new PeerKvConnector("decode-1", Duration.ofSeconds(30), Duration.ofSeconds(5));
        try (MemoryKvBlockStore store = new MemoryKvBlockStore(new KvLayout(4, 3, 2, 8, "bf16"), BLOCKS)) {
            other.register(new KvConnectorContext("decode-1", store, () -> {}));
            ConnectorRequest r = new ConnectorRequest("d", new int[9], 9, 8, 0, new long[0], params);
            assertThat(other.matchedTokens(r, 0).tokens()).isZero();
        } finally {
            other.close();
        }
        // and the sender itself refuses a pull that names another layout
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
                .usePlaintext()
                .build();
        try {
            var it = KvTransferGrpc.newBlockingStub(ch)
                    .pull(KvPullRequest.newBuilder()
                            .setTransferId(TransferParams.parse(params).transferId())
                            .setLayout(Layouts.toProto(new KvLayout(4, 3, 2, 8, "bf16")))
                            .addBlockIndexes(0)
                            .build());
            org.assertj.core.api.Assertions.assertThatThrownBy(it::hasNext)
                    .hasMessageContaining("FAILED_PRECONDITION")
                    .hasMessageContaining("layout mismatch");
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void anUnpulledTransferIsReleasedWhenItsLeaseExpires() throws Exception {
        start(Duration.ofMillis(200));
        hold(8, new int[] {3, 7});
        assertThat(sender.heldTransfers()).isEqualTo(1);
        assertThat(sentWithin(Duration.ofSeconds(5))).containsExactly("p");
        assertThat(sender.heldTransfers()).isZero();
    }

    @Test
    void aPrefillThatStoppedOrWasCancelledHoldsNothing() throws Exception {
        start(Duration.ofSeconds(30));
        for (FinishReason r : new FinishReason[] {FinishReason.STOP, FinishReason.CANCELLED, FinishReason.ERROR}) {
            FinishedRequest f =
                    sender.requestFinished(request("p", 8, "{\"do_remote_decode\":true}"), r, new int[] {3, 7});
            assertThat(f.holdBlocks()).isFalse();
            assertThat(f.kvTransferParams()).isNull();
        }
        assertThat(sender.requestFinished(request("p", 8, null), FinishReason.LENGTH, new int[] {3, 7})
                        .holdBlocks())
                .isFalse();
    }

    @Test
    void aSlowReceiverKeepsTheSendersBuffersBounded() throws Exception {
        // 64 blocks of 512 KiB (4 layers of 128 KiB, one message per block) = 64 messages (32 MiB); the receiver
        // takes two and then stops reading.
        KvLayout big = new KvLayout(256, 4, 4, 16, "f32");
        AtomicInteger produced = new AtomicInteger();
        start(big, 64, Duration.ofSeconds(30), rewriting(m -> {
            produced.incrementAndGet();
            return m;
        }));
        int[] all = new int[64];
        for (int i = 0; i < 64; i++) {
            all[i] = i;
        }
        String params = sender.requestFinished(
                        request("p", 64 * 256, "{\"do_remote_decode\":true}"), FinishReason.LENGTH, all)
                .kvTransferParams();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
                .usePlaintext()
                .maxInboundMessageSize(64 << 20)
                .build();
        try {
            KvPullRequest.Builder req = KvPullRequest.newBuilder()
                    .setTransferId(TransferParams.parse(params).transferId())
                    .setLayout(Layouts.toProto(big));
            for (int i = 0; i < 64; i++) {
                req.addBlockIndexes(i);
            }
            AtomicInteger got = new AtomicInteger();
            ClientCall<KvPullRequest, KvBlockData> call =
                    ch.newCall(KvTransferGrpc.getPullMethod(), io.grpc.CallOptions.DEFAULT);
            call.start(
                    new ClientCall.Listener<>() {
                        @Override
                        public void onMessage(KvBlockData message) {
                            got.incrementAndGet();
                        }
                    },
                    new Metadata());
            call.sendMessage(req.build());
            call.halfClose();
            call.request(2);
            Thread.sleep(1500); // the receiver reads nothing more
            assertThat(got.get()).isEqualTo(2);
            // What the sender made is bounded by the transport's windows (1 MiB at this client) and the sender's
            // 2 MiB send threshold, about 7 messages: not by the transfer's 64.
            assertThat(produced.get()).isBetween(2, 16);
            int stalled = produced.get();
            call.request(1000);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (got.get() < 64 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(got.get()).isEqualTo(64);
            assertThat(produced.get()).isGreaterThan(stalled);
        } finally {
            ch.shutdownNow();
        }
    }

    /** An interceptor that passes every outgoing message through {@code f} (fault injection on the wire). */
    private static ServerInterceptor rewriting(UnaryOperator<KvBlockData> f) {
        return new ServerInterceptor() {
            @Override
            @SuppressWarnings("unchecked")
            public <Q, R> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                return next.startCall(
                        new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                            @Override
                            public void sendMessage(R message) {
                                super.sendMessage((R) f.apply((KvBlockData) message));
                            }
                        },
                        headers);
            }
        };
    }
}
