package dev.tandem.kvconnector.peer;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.FinishedRequest;
import dev.tandem.api.kv.connector.FinishedTransfers;
import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.MatchedTokens;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Worker-to-worker KV transfer over gRPC, in NIXL's pull mode. As a <em>prefill</em> worker: a request asking
 * {@code do_remote_decode} keeps its blocks when it ends (until pulled, or for the lease) and returns the
 * parameters to pull them with. As a <em>decode</em> worker: a request carrying those parameters is matched for the
 * tokens they cover; once blocks are allocated a background pull fills them (layer by layer, layouts checked on
 * both sides, a CRC-32C per block), and any block that does not arrive intact is recomputed by the engine.
 *
 * <p>Scheduler-half methods run on the engine thread; pulls on virtual threads; the {@link KvTransferService} on
 * gRPC's. They meet in concurrent queues and the held-transfer map.
 */
public final class PeerKvConnector implements KvConnector {

    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
    public static final Duration DEFAULT_PULL_TIMEOUT = Duration.ofSeconds(30);

    private static final System.Logger LOG = System.getLogger(PeerKvConnector.class.getName());

    private final String workerId;
    private final Duration lease;
    private final Duration pullTimeout;
    private final KvTransferService service = new KvTransferService(this);
    private final Map<String, HeldTransfer> held = new ConcurrentHashMap<>();
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> sent = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> received = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Integer> failed = new ConcurrentLinkedQueue<>();
    private final AtomicLong transfers = new AtomicLong();
    private final AtomicLong bytesPulled = new AtomicLong();
    private volatile KvConnectorContext context;
    private volatile String host;
    private volatile int port;
    private volatile boolean closed;

    public PeerKvConnector(String workerId, Duration lease, Duration pullTimeout) {
        this.workerId = workerId;
        this.lease = lease;
        this.pullTimeout = pullTimeout;
    }

    @Override
    public String name() {
        return "peer";
    }

    @Override
    public void register(KvConnectorContext context) {
        this.context = context;
    }

    @Override
    public void advertise(String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not host:port: " + address);
        }
        String h = address.substring(0, colon);
        this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        this.port = Integer.parseInt(address.substring(colon + 1));
    }

    @Override
    public List<io.grpc.BindableService> services() {
        return List.of(service);
    }

    KvBlockStore store() {
        KvConnectorContext c = context;
        return c == null ? null : c.store();
    }

    /** Bytes of KV this connector pulled from peers. */
    public long bytesPulled() {
        return bytesPulled.get();
    }

    /** Transfers this worker holds for peers right now. */
    public int heldTransfers() {
        return held.size();
    }

    // ---- decode side ----

    @Override
    public MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens) {
        TransferParams p = TransferParams.parse(request.kvTransferParams());
        KvBlockStore store = store();
        if (p == null || !p.doRemotePrefill() || store == null || closed) {
            return MatchedTokens.NONE;
        }
        if (!p.layout().equals(store.layout().describe())) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "request {0}: the prefill worker {1} has KV layout {2}, this worker {3}; recomputing",
                    request.requestId(),
                    p.engineId(),
                    p.layout(),
                    store.layout().describe());
            return MatchedTokens.NONE;
        }
        int n = Math.min(p.remoteTokens(), request.length()) - computedTokens;
        return n > 0 ? new MatchedTokens(n, false, true, false) : MatchedTokens.NONE;
    }

    @Override
    public void afterAllocation(ConnectorRequest request, int[] blockIds, int computedTokens, int externalTokens) {
        TransferParams p = TransferParams.parse(request.kvTransferParams());
        KvConnectorContext ctx = context;
        int bs = ctx.store().layout().blockSize();
        int first = computedTokens / bs;
        int last = Math.min((computedTokens + externalTokens + bs - 1) / bs, p.blockIds().length);
        int[] local = new int[Math.max(0, last - first)];
        System.arraycopy(blockIds, first, local, 0, local.length);
        String requestId = request.requestId();
        // A large transfer is split into contiguous stripes pulled at once over separate connections: one HTTP/2
        // connection is one event-loop thread on each side.
        long bytes = (long) local.length * ctx.store().layout().bytesPerBlock();
        int stripes = (int) Math.max(1, Math.min(STRIPES, Math.min(local.length, bytes / STRIPE_MIN_BYTES)));
        java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(stripes);
        for (int s = 0; s < stripes; s++) {
            int from = first + (int) ((long) local.length * s / stripes);
            int to = first + (int) ((long) local.length * (s + 1) / stripes);
            int stripe = s;
            Thread.ofVirtual().name("kv-pull-" + requestId + "-" + s).start(() -> {
                int[] part = java.util.Arrays.copyOfRange(local, from - first, to - first);
                List<Integer> bad;
                try {
                    bad = part.length == 0
                            ? List.of()
                            : PeerPull.pull(
                                    channel(p.address(), stripe),
                                    ctx.store(),
                                    p,
                                    from,
                                    to,
                                    part,
                                    pullTimeout.toMillis());
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "KV pull of " + requestId + " failed; recomputing", e);
                    bad = java.util.Arrays.stream(part).boxed().toList();
                }
                bytesPulled.addAndGet(
                        (part.length - bad.size()) * ctx.store().layout().bytesPerBlock());
                failed.addAll(bad);
                if (left.decrementAndGet() == 0) {
                    received.add(requestId);
                    ctx.wakeup().run();
                }
            });
        }
    }

    /** Most connections one transfer is striped over, and the least bytes worth a stripe of its own. */
    static final int STRIPES = 2;

    static final long STRIPE_MIN_BYTES = 8L << 20;

    private ManagedChannel channel(String address, int stripe) {
        return channels.computeIfAbsent(
                address + "#" + stripe,
                a -> NettyChannelBuilder.forTarget(address)
                        .usePlaintext()
                        // Netty reads at most 64 KiB per system call by default: KV streams read in larger pieces.
                        .withOption(
                                io.grpc.netty.shaded.io.netty.channel.ChannelOption.RCVBUF_ALLOCATOR,
                                new io.grpc.netty.shaded.io.netty.channel.AdaptiveRecvByteBufAllocator(
                                        64 << 10, 256 << 10, 1 << 20))
                        .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_RCVBUF, 4 << 20)
                        .flowControlWindow(4 << 20)
                        .maxInboundMessageSize(256 << 20)
                        .build());
    }

    // ---- prefill side ----

    @Override
    public FinishedRequest requestFinished(ConnectorRequest request, FinishReason reason, int[] blockIds) {
        TransferParams p = TransferParams.parse(request.kvTransferParams());
        KvBlockStore store = store();
        // Only a prefill that ran to its budget is continued elsewhere; one that stopped (EOS) or was cancelled
        // has nothing to hand over.
        if (p == null || !p.doRemoteDecode() || reason != FinishReason.LENGTH || host == null || store == null) {
            return FinishedRequest.RELEASE;
        }
        int tokens = Math.min(request.computedTokens(), request.promptLength());
        int bs = store.layout().blockSize();
        int[] blocks = java.util.Arrays.copyOf(blockIds, Math.min(blockIds.length, (tokens + bs - 1) / bs));
        String transferId = workerId + "/" + request.requestId() + "/" + transfers.incrementAndGet();
        held.put(
                transferId, new HeldTransfer(request.requestId(), blocks, tokens, System.nanoTime() + lease.toNanos()));
        return new FinishedRequest(
                true,
                new TransferParams(
                                false,
                                true,
                                workerId,
                                host,
                                port,
                                transferId,
                                blocks,
                                tokens,
                                store.layout().describe(),
                                lease.toMillis())
                        .toJson());
    }

    /**
     * Claims blocks {@code indexes} of a held transfer for one stream; null when it does not exist, ended, or any of
     * them was streamed already.
     */
    HeldTransfer startStreaming(String transferId, List<Integer> indexes) {
        HeldTransfer t = held.get(transferId);
        return t != null && t.claim(indexes) ? t : null;
    }

    /** A stream of {@code t} ended; when it was the last, the blocks may be freed. */
    void finishStreaming(String transferId, HeldTransfer t, boolean completed) {
        if (t.release(completed)) {
            held.remove(transferId, t);
            sent.add(t.requestId);
            KvConnectorContext c = context;
            if (c != null) {
                c.wakeup().run();
            }
        }
    }

    @Override
    public FinishedTransfers finished() {
        long now = System.nanoTime();
        for (var e : held.entrySet()) {
            HeldTransfer t = e.getValue();
            if (t.expire(now)) {
                held.remove(e.getKey(), t);
                sent.add(t.requestId);
                LOG.log(System.Logger.Level.DEBUG, "KV transfer {0} expired unpulled", e.getKey());
            }
        }
        if (sent.isEmpty() && received.isEmpty()) {
            return FinishedTransfers.NONE;
        }
        return new FinishedTransfers(drain(sent), drain(received));
    }

    @Override
    public Set<Integer> failedBlockLoads() {
        return failed.isEmpty() ? Set.of() : drain(failed);
    }

    private static <T> Set<T> drain(ConcurrentLinkedQueue<T> q) {
        Set<T> out = new HashSet<>();
        T v;
        while ((v = q.poll()) != null) {
            out.add(v);
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
        channels.values().forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
