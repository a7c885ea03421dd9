package dev.tandem.orchestrator.router;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tandem.api.events.EventMessage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.Subjects;
import dev.tandem.api.events.Subscription;
import dev.tandem.api.proto.RouterSyncEvent;

/**
 * Shares routing decisions between router replicas (several frontends serving the same workers) over the event
 * plane: each replica publishes what it routed where, when the request's prefill ended and when it finished; the
 * others book the same into their {@link ActiveLoad} and policy, so every replica sees the whole cluster's load
 * and in-flight prefixes, not just its own. Remote requests are keyed {@code replica/request} so ids never clash.
 *
 * <p>Delivery is at most once: a lost FINISHED leaves a phantom load until the replica's request ids are seen
 * again or the worker leaves; KV events stay the source of truth for what is cached.
 */
public final class RouterReplicaSync implements Router.DecisionListener, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RouterReplicaSync.class.getName());

    private final Router router;
    private final EventPlane events;
    private final String subject;
    private final String replicaId;
    private final Subscription subscription;

    public RouterReplicaSync(Router router, EventPlane events, String namespace, String replicaId) {
        this.router = router;
        this.events = events;
        this.subject = Subjects.routerSync(namespace);
        this.replicaId = replicaId;
        this.subscription = events.subscribe(subject, this::onMessage);
        router.setListener(this);
    }

    @Override
    public void routed(RoutingRequest request, String workerId, long blocks, long prefillTokens) {
        RouterSyncEvent.Builder b = event(request.requestId(), RouterSyncEvent.Kind.ROUTED)
                .setWorkerId(workerId)
                .setBlocks(blocks)
                .setPrefillTokens(prefillTokens)
                .setPromptTokens(request.promptTokens())
                .setBlockSize(request.blockSize());
        for (long h : request.blockHashes()) {
            b.addBlockHashes(h);
        }
        events.publish(subject, b.build().toByteArray());
    }

    @Override
    public void prefilled(String requestId) {
        events.publish(
                subject,
                event(requestId, RouterSyncEvent.Kind.PREFILLED).build().toByteArray());
    }

    @Override
    public void finished(String requestId) {
        events.publish(
                subject, event(requestId, RouterSyncEvent.Kind.FINISHED).build().toByteArray());
    }

    private RouterSyncEvent.Builder event(String requestId, RouterSyncEvent.Kind kind) {
        return RouterSyncEvent.newBuilder()
                .setReplicaId(replicaId)
                .setRequestId(requestId)
                .setKind(kind);
    }

    private void onMessage(EventMessage msg) {
        RouterSyncEvent e;
        try {
            e = RouterSyncEvent.parseFrom(msg.payload());
        } catch (InvalidProtocolBufferException ex) {
            LOG.log(System.Logger.Level.WARNING, "undecodable router sync event", ex);
            return;
        }
        if (e.getReplicaId().equals(replicaId)) {
            return;
        }
        String key = e.getReplicaId() + "/" + e.getRequestId();
        switch (e.getKind()) {
            case ROUTED -> {
                long[] hashes = new long[e.getBlockHashesCount()];
                for (int i = 0; i < hashes.length; i++) {
                    hashes[i] = e.getBlockHashes(i);
                }
                router.record(
                        new RoutingRequest(key, e.getPromptTokens(), hashes, Math.max(1, e.getBlockSize())),
                        e.getWorkerId(),
                        e.getBlocks(),
                        e.getPrefillTokens());
            }
            case PREFILLED -> router.prefilled(key);
            case FINISHED -> router.finished(key);
            case UNRECOGNIZED -> LOG.log(System.Logger.Level.DEBUG, "unknown router sync event kind");
        }
    }

    @Override
    public void close() {
        router.setListener(null);
        subscription.close();
    }
}
