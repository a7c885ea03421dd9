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
import java.util.zip.CRC32C;

/**
 * The sending side of a peer transfer: streams a held transfer's blocks, one message per block and layer, each
 * block's CRC-32C on its last layer. A message is produced only when the call is ready for it (gRPC's flow control),
 * so a slow receiver holds at most the transport's window plus one message in the sender's memory, whatever the
 * transfer's size. The transfer is released when the stream ends, completed or not.
 */
final class KvTransferService extends KvTransferGrpc.KvTransferImplBase {

    /** Largest message: consecutive layers of one block up to this many bytes (at least one layer). */
    static final int MESSAGE_BYTES = 1 << 20;

    /** Bytes the sender keeps queued for the transport, at most (plus one message). */
    static final int SEND_BUFFER_BYTES = 2 << 20;

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
        HeldTransfer t = connector.startStreaming(request.getTransferId(), request.getBlockIndexesList());
        if (t == null) {
            call.onError(Status.NOT_FOUND
                    .withDescription("no KV transfer " + request.getTransferId()
                            + " here, or those blocks were pulled already (expired or pulled)")
                    .asRuntimeException());
            return;
        }
        Producer producer = new Producer(call, store, t, request);
        call.setOnCancelHandler(producer::cancelled);
        // gRPC's default readiness threshold (32 KiB) is below one message: every message would wait for the last
        // to leave before the next is made. A few messages' worth keeps the socket busy and still bounds the memory.
        call.setOnReadyThreshold(SEND_BUFFER_BYTES);
        call.setOnReadyHandler(producer::drain);
        producer.drain();
    }

    /**
     * Writes a transfer's messages while the call is ready, from gRPC's callbacks (serialized per call): never
     * blocking a thread, so the transport's onReady signal is what paces it.
     */
    private final class Producer {
        private final ServerCallStreamObserver<KvBlockData> call;
        private final KvBlockStore store;
        private final HeldTransfer transfer;
        private final KvPullRequest request;
        private final int layers;
        private final int bytes;
        private final CRC32C crc = new CRC32C();
        private int next; // index into the request's block indexes
        private int layer;
        private boolean ended;

        Producer(ServerCallStreamObserver<KvBlockData> call, KvBlockStore store, HeldTransfer t, KvPullRequest r) {
            this.call = call;
            this.store = store;
            this.transfer = t;
            this.request = r;
            this.layers = store.layout().layers();
            this.bytes = Math.toIntExact(2 * store.layout().bytesPerLayerHalf());
        }

        void drain() {
            if (ended) {
                return;
            }
            try {
                while (call.isReady() && next < request.getBlockIndexesCount()) {
                    int index = request.getBlockIndexes(next);
                    if (index < 0 || index >= transfer.blockIds.length) {
                        end(Status.OUT_OF_RANGE.withDescription(
                                "block index " + index + " of " + transfer.blockIds.length));
                        return;
                    }
                    // Consecutive layers of a block share a message of up to MESSAGE_BYTES: fewer, larger messages
                    // cost gRPC and HTTP/2 less per byte than one per layer.
                    int count = Math.min(layers - layer, Math.max(1, MESSAGE_BYTES / bytes));
                    com.google.protobuf.ByteString data = com.google.protobuf.ByteString.EMPTY;
                    for (int l = layer; l < layer + count; l++) {
                        data = data.concat(layerBytes(transfer.blockIds[index], l));
                    }
                    KvBlockData.Builder m = KvBlockData.newBuilder()
                            .setBlockIndex(index)
                            .setLayer(layer)
                            .setData(data);
                    if (next == 0 && layer == 0) {
                        m.setLayout(Layouts.toProto(store.layout()));
                    }
                    layer += count;
                    if (layer == layers) {
                        m.setBlockCrc32C((int) crc.getValue());
                        crc.reset();
                        layer = 0;
                        next++;
                    }
                    call.onNext(m.build());
                }
                if (next == request.getBlockIndexesCount()) {
                    end(null);
                }
            } catch (RuntimeException e) {
                end(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())));
            }
        }

        /**
         * The layer's bytes, checksummed: views of the store when it gives them (held blocks are not written while
         * streamed, so the transport reads them in place), else a copy.
         */
        private com.google.protobuf.ByteString layerBytes(int block, int layer) {
            java.nio.ByteBuffer[] views = store.layerViews(block, layer);
            if (views == null) {
                byte[] data = new byte[bytes];
                store.readBlockLayer(block, layer, MemorySegment.ofArray(data));
                crc.update(data);
                return UnsafeByteOperations.unsafeWrap(data);
            }
            com.google.protobuf.ByteString out = com.google.protobuf.ByteString.EMPTY;
            for (java.nio.ByteBuffer v : views) {
                crc.update(v.duplicate());
                out = out.concat(UnsafeByteOperations.unsafeWrap(v));
            }
            return out;
        }

        void cancelled() {
            if (!ended) {
                ended = true;
                connector.finishStreaming(request.getTransferId(), transfer, false);
            }
        }

        private void end(Status error) {
            ended = true;
            try {
                if (error == null) {
                    call.onCompleted();
                } else {
                    call.onError(error.asRuntimeException());
                }
            } finally {
                connector.finishStreaming(request.getTransferId(), transfer, error == null);
            }
        }
    }
}
