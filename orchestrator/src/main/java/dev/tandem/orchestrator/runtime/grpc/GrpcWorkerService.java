package dev.tandem.orchestrator.runtime.grpc;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.proto.DumpKvStateRequest;
import dev.tandem.api.proto.GenerateRequest;
import dev.tandem.api.proto.KvState;
import dev.tandem.api.proto.WorkerGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The worker side of the request plane: {@code Generate} streams an engine request's deltas; a cancelled call
 * (client gone, deadline passed) aborts the engine request, which frees its KV blocks.
 */
final class GrpcWorkerService extends WorkerGrpc.WorkerImplBase {

    private final Engine engine;

    GrpcWorkerService(Engine engine) {
        this.engine = engine;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<dev.tandem.api.proto.TokenDelta> out) {
        ServerCallStreamObserver<dev.tandem.api.proto.TokenDelta> call =
                (ServerCallStreamObserver<dev.tandem.api.proto.TokenDelta>) out;
        // The handler is set before the engine can emit anything; it aborts whatever generation exists by then.
        AtomicReference<Generation> started = new AtomicReference<>();
        call.setOnCancelHandler(() -> {
            Generation running = started.get();
            if (running != null) {
                running.cancel();
            }
        });
        Generation g;
        try {
            g = engine.generate(ProtoCodec.fromProto(request), new TokenListener() {
                @Override
                public void onDelta(TokenDelta delta) {
                    if (call.isCancelled()) {
                        return;
                    }
                    try {
                        call.onNext(ProtoCodec.toProto(delta));
                        if (delta.isFinal()) {
                            call.onCompleted();
                        }
                    } catch (RuntimeException closed) {
                        // the call ended under us (client cancelled): the cancel handler aborts the request
                    }
                }

                @Override
                public void onError(EngineException error) {
                    if (!call.isCancelled()) {
                        call.onError(ProtoCodec.toStatus(error));
                    }
                }
            });
        } catch (EngineException e) {
            call.onError(ProtoCodec.toStatus(e));
            return;
        } catch (RuntimeException e) {
            call.onError(io.grpc.Status.INVALID_ARGUMENT
                    .withDescription(String.valueOf(e.getMessage()))
                    .asRuntimeException());
            return;
        }
        started.set(g);
        if (call.isCancelled()) {
            g.cancel();
        }
    }

    @Override
    public void dumpKvState(DumpKvStateRequest request, StreamObserver<KvState> out) {
        try {
            out.onNext(ProtoCodec.toProto(engine.dumpKvState()));
            out.onCompleted();
        } catch (EngineException e) {
            out.onError(ProtoCodec.toStatus(e));
        }
    }
}
