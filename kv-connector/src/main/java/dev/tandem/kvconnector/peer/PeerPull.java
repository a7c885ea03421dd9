package dev.tandem.kvconnector.peer;

import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.proto.KvPullRequest;
import dev.tandem.api.proto.KvTransferGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The receiving side of a peer transfer: pulls blocks [first, last) of a held transfer into this engine's blocks,
 * checking the sender's layout and every block's CRC-32C. Runs on its own (virtual) thread; the engine does not
 * touch the destination blocks until the pull reports. Returns the indexes that did not arrive intact.
 */
final class PeerPull {

    private static final System.Logger LOG = System.getLogger(PeerPull.class.getName());

    private PeerPull() {}

    /**
     * @param localBlocks destination block ids, one per index in [first, last)
     * @return the destination blocks whose data is missing or corrupt (empty when all arrived)
     */
    static List<Integer> pull(
            ManagedChannel channel,
            KvBlockStore store,
            TransferParams params,
            int first,
            int last,
            int[] localBlocks,
            long timeoutMillis) {
        int layers = store.layout().layers();
        long layerBytes = 2 * store.layout().bytesPerLayerHalf();
        BitSet intact = new BitSet(last - first);
        KvPullRequest.Builder req = KvPullRequest.newBuilder()
                .setTransferId(params.transferId())
                .setLayout(Layouts.toProto(store.layout()));
        for (int i = first; i < last; i++) {
            req.addBlockIndexes(i);
        }
        try {
            // The generated stub's method with a response reader that writes each layer into its block as it is
            // parsed (same wire format, fewer copies).
            MethodDescriptor<KvPullRequest, LayerReader.Layer> method = KvTransferGrpc.getPullMethod().toBuilder(
                            KvTransferGrpc.getPullMethod().getRequestMarshaller(),
                            new LayerReader(store, first, localBlocks))
                    .build();
            // The call's callbacks (and the parsing, which writes into the store) run on the transport's event
            // loop: no hand-off to another thread per message. The reader never blocks.
            Checker checker = new Checker(store, params, first, layers, layerBytes, intact);
            java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
            ClientCalls.asyncServerStreamingCall(
                    channel.newCall(
                            method,
                            CallOptions.DEFAULT
                                    .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                                    .withExecutor(Runnable::run)),
                    req.build(),
                    new io.grpc.stub.ClientResponseObserver<KvPullRequest, LayerReader.Layer>() {
                        private io.grpc.stub.ClientCallStreamObserver<KvPullRequest> call;

                        @Override
                        public void beforeStart(io.grpc.stub.ClientCallStreamObserver<KvPullRequest> call) {
                            this.call = call;
                        }

                        @Override
                        public void onNext(LayerReader.Layer m) {
                            try {
                                checker.accept(m);
                            } catch (IllegalStateException e) {
                                call.cancel(e.getMessage(), e);
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            done.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                            done.complete(null);
                        }
                    });
            try {
                done.get(timeoutMillis + 5_000, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof StatusRuntimeException s
                        ? s
                        : new IllegalStateException(String.valueOf(e.getCause()), e.getCause());
            } catch (java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("no answer within the deadline");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        } catch (StatusRuntimeException | IllegalStateException | java.io.UncheckedIOException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "KV pull of {0} from {1} failed after {2} of {3} blocks ({4}); the rest is recomputed",
                    params.transferId(),
                    params.engineId(),
                    intact.cardinality(),
                    last - first,
                    e.getMessage());
        }
        List<Integer> failed = new ArrayList<>();
        // (intact is written on the transport's thread; done's completion orders those writes before this read)
        for (int i = first; i < last; i++) {
            if (!intact.get(i - first)) {
                failed.add(localBlocks[i - first]);
            }
        }
        return failed;
    }

    /** Checks each message against the expected order and marks blocks whose checksum held. */
    private static final class Checker {
        private final KvBlockStore store;
        private final TransferParams params;
        private final int layers;
        private final long layerBytes;
        private final BitSet intact;
        private final int first;
        private int expectIndex;
        private int expectLayer;
        private boolean seenFirst;

        Checker(KvBlockStore store, TransferParams params, int first, int layers, long layerBytes, BitSet intact) {
            this.store = store;
            this.params = params;
            this.first = first;
            this.expectIndex = first;
            this.layers = layers;
            this.layerBytes = layerBytes;
            this.intact = intact;
        }

        void accept(LayerReader.Layer m) {
            if (!seenFirst) {
                if (m.layout() == null || !Layouts.matches(store.layout(), m.layout())) {
                    throw new IllegalStateException("the sender's KV layout differs: "
                            + (m.layout() != null ? Layouts.describe(m.layout()) : "none") + " vs "
                            + store.layout().describe());
                }
                seenFirst = true;
            }
            if (m.blockIndex() != expectIndex || m.layer() != expectLayer || m.bytes() % layerBytes != 0) {
                throw new IllegalStateException("unexpected block " + m.blockIndex() + " layer " + m.layer() + " ("
                        + m.bytes() + " bytes); expected block " + expectIndex + " layer " + expectLayer);
            }
            expectLayer += (int) (m.bytes() / layerBytes);
            if (expectLayer == layers) {
                if (m.hasCrc() && m.blockCrc() == m.computedCrc()) {
                    synchronized (intact) {
                        intact.set(expectIndex - first);
                    }
                } else {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "KV block {0} of transfer {1} failed its checksum; its tokens are recomputed",
                            expectIndex,
                            params.transferId());
                }
                expectLayer = 0;
                expectIndex++;
            } else if (m.hasCrc()) {
                throw new IllegalStateException("a block checksum before the block's last layer");
            }
        }
    }
}
