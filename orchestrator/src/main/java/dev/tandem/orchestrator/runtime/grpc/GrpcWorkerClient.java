package dev.tandem.orchestrator.runtime.grpc;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.proto.DumpKvStateRequest;
import dev.tandem.api.proto.WorkerGrpc;
import dev.tandem.orchestrator.runtime.WorkerClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The frontend's client of one worker's request plane. A broken stream (the worker died, the connection dropped)
 * reaches the listener as an UNAVAILABLE error, which the frontend answers by migrating the request.
 */
public final class GrpcWorkerClient implements WorkerClient {

    private final String instanceId;
    private final String address;
    private final ManagedChannel channel;
    private final WorkerGrpc.WorkerStub async;
    private final WorkerGrpc.WorkerBlockingStub blocking;

    /** Calls without an explicit deadline get this one: no generation legitimately takes longer. */
    public static final java.time.Duration DEFAULT_DEADLINE = java.time.Duration.ofMinutes(30);

    private final java.time.Duration deadline;

    public GrpcWorkerClient(String instanceId, String address) {
        this(instanceId, address, DEFAULT_DEADLINE);
    }

    /**
     * @param deadline every Generate call's deadline; when it passes the call ends with DEADLINE_EXCEEDED and the
     *     worker aborts the request (its blocks are freed)
     */
    public GrpcWorkerClient(String instanceId, String address, java.time.Duration deadline) {
        this.deadline = deadline;
        this.instanceId = instanceId;
        this.address = address;
        this.channel = NettyChannelBuilder.forTarget(address)
                .usePlaintext()
                .maxInboundMessageSize(64 << 20)
                .keepAliveTime(GrpcWorkerServer.CLIENT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                .keepAliveTimeout(5, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true)
                .build();
        this.async = WorkerGrpc.newStub(channel);
        this.blocking = WorkerGrpc.newBlockingStub(channel);
    }

    @Override
    public String instanceId() {
        return instanceId;
    }

    @Override
    public Generation generate(GenerateRequest request, TokenListener listener) {
        AtomicBoolean ended = new AtomicBoolean();
        ClientCallStreamObserver<?>[] callRef = new ClientCallStreamObserver<?>[1];
        boolean[] cancelRequested = new boolean[1];
        async.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                .generate(
                        ProtoCodec.toProto(request),
                        new ClientResponseObserver<
                                dev.tandem.api.proto.GenerateRequest, dev.tandem.api.proto.TokenDelta>() {
                            @Override
                            public void beforeStart(
                                    ClientCallStreamObserver<dev.tandem.api.proto.GenerateRequest> requestStream) {
                                callRef[0] = requestStream;
                            }

                            @Override
                            public void onNext(dev.tandem.api.proto.TokenDelta value) {
                                var d = ProtoCodec.fromProto(value);
                                if (d.isFinal()) {
                                    ended.set(true);
                                }
                                listener.onDelta(d);
                            }

                            @Override
                            public void onError(Throwable t) {
                                if (ended.compareAndSet(false, true)) {
                                    listener.onError(ProtoCodec.fromStatus(t, instanceId + " at " + address));
                                }
                            }

                            @Override
                            public void onCompleted() {
                                if (ended.compareAndSet(false, true)) {
                                    listener.onError(new EngineException(
                                            EngineException.Kind.UNAVAILABLE,
                                            "worker " + instanceId + " ended the stream without a final delta"));
                                }
                            }
                        });
        return new Generation() {
            @Override
            public String requestId() {
                return request.requestId();
            }

            @Override
            public void cancel() {
                ClientCallStreamObserver<?> call = callRef[0];
                if (call != null && !ended.get()) {
                    call.cancel("cancelled by the frontend", null);
                }
            }
        };
    }

    @Override
    public KvStateDump dumpKvState() {
        try {
            return ProtoCodec.fromProto(blocking.withDeadlineAfter(10, TimeUnit.SECONDS)
                    .dumpKvState(DumpKvStateRequest.getDefaultInstance()));
        } catch (RuntimeException e) {
            throw ProtoCodec.fromStatus(e, instanceId + " at " + address);
        }
    }

    /**
     * Takes no new calls; those in flight go on until they end (a worker that deregistered on SIGTERM finishes
     * them while it drains). A call on a dead worker fails by itself; one to be stopped is cancelled through its
     * {@link Generation}.
     */
    @Override
    public void close() {
        channel.shutdown();
    }
}
