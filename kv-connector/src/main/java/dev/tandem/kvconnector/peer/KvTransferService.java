package dev.tandem.kvconnector.peer;

import com.google.protobuf.UnsafeByteOperations;
import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.proto.KvBlockData;
import dev.tandem.api.proto.KvPullRequest;
import dev.tandem.api.proto.KvTransferGrpc;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The sending side of a peer transfer: streams a held transfer's blocks, one message per block and layer, each
 * block's CRC-32C on its last layer. A message is produced only when the call is ready for it (gRPC's flow control),
 * so a slow receiver holds at most the transport's window plus one message in the sender's memory, whatever the
 * transfer's size. The transfer is released when the stream ends, completed or not.
 */
final class KvTransferService extends KvTransferGrpc.KvTransferImplBase {

    private final PeerKvConnector connector;

    KvTransferService(PeerKvConnector connector) {
        this.connector = connector;
    }

    @Override
    public void pull(KvPullRequest request, StreamObserver<KvBlockData> out) {
        ServerCallStreamObserver<KvBlockData> call = (ServerCallStreamObserver<KvBlockData>) out;
        KvBlockStore store = connector.store();
        if (store == null) {
            call.onError(
                    Status.UNAVAILABLE.withDescription("no KV store registered").asRuntimeException());
            return;
        }
        if (!Layouts.matches(store.layout(), request.getLayout())) {
            call.onError(Status.FAILED_PRECONDITION
                    .withDescription("KV layout mismatch: this worker has "
                            + store.layout().describe() + ", the caller " + Layouts.describe(request.getLayout()))
                    .asRuntimeException());
            return;
        }
        HeldTransfer t = connector.startStreaming(request.getTransferId());
        if (t == null) {
            call.onError(Status.NOT_FOUND
                    .withDescription("no KV transfer " + request.getTransferId() + " here (expired or pulled)")
                    .asRuntimeException());
            return;
        }
        Readiness ready = new Readiness(call);
        try {
            int layers = store.layout().layers();
            int bytes = Math.toIntExact(2 * store.layout().bytesPerLayerHalf());
            boolean first = true;
            for (int index : request.getBlockIndexesList()) {
                if (index < 0 || index >= t.blockIds.length) {
                    call.onError(Status.OUT_OF_RANGE
                            .withDescription("block index " + index + " of " + t.blockIds.length)
                            .asRuntimeException());
                    return;
                }
                CRC32C crc = new CRC32C();
                for (int layer = 0; layer < layers; layer++) {
                    byte[] data = new byte[bytes];
                    store.readBlockLayer(t.blockIds[index], layer, MemorySegment.ofArray(data));
                    crc.update(data);
                    KvBlockData.Builder m = KvBlockData.newBuilder()
                            .setBlockIndex(index)
                            .setLayer(layer)
                            .setData(UnsafeByteOperations.unsafeWrap(data));
                    if (layer == layers - 1) {
                        m.setBlockCrc32C((int) crc.getValue());
                    }
                    if (first) {
                        m.setLayout(Layouts.toProto(store.layout()));
                        first = false;
                    }
                    if (!ready.await()) {
                        return; // the receiver went away or its deadline passed
                    }
                    call.onNext(m.build());
                }
            }
            call.onCompleted();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.onError(Status.CANCELLED.asRuntimeException());
        } catch (RuntimeException e) {
            call.onError(Status.INTERNAL
                    .withDescription(String.valueOf(e.getMessage()))
                    .asRuntimeException());
        } finally {
            connector.finishStreaming(request.getTransferId(), t);
        }
    }

    /** Waits for the call to accept another message (or to be cancelled). */
    private static final class Readiness {
        private final ServerCallStreamObserver<?> call;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private volatile boolean cancelled;

        Readiness(ServerCallStreamObserver<?> call) {
            this.call = call;
            call.setOnReadyHandler(this::signal);
            call.setOnCancelHandler(() -> {
                cancelled = true;
                signal();
            });
        }

        private void signal() {
            lock.lock();
            try {
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        boolean await() throws InterruptedException {
            lock.lock();
            try {
                while (!cancelled && !call.isReady()) {
                    // A bounded wait re-checks the state even if a signal raced the check.
                    changed.await(50, TimeUnit.MILLISECONDS);
                }
                return !cancelled;
            } finally {
                lock.unlock();
            }
        }
    }
}
