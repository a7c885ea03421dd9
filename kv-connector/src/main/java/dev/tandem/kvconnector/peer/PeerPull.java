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
import java.util.Iterator;
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
            Iterator<LayerReader.Layer> it = ClientCalls.blockingServerStreamingCall(
                    channel,
                    method,
                    CallOptions.DEFAULT.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS),
                    req.build());
            int expectIndex = first;
            int expectLayer = 0;
            boolean first0 = true;
            while (it.hasNext()) {
                LayerReader.Layer m = it.next();
                if (first0) {
                    if (m.layout() == null || !Layouts.matches(store.layout(), m.layout())) {
                        throw new IllegalStateException("the sender's KV layout differs: "
                                + (m.layout() != null ? Layouts.describe(m.layout()) : "none") + " vs "
                                + store.layout().describe());
                    }
                    first0 = false;
                }
                if (m.blockIndex() != expectIndex || m.layer() != expectLayer || m.bytes() % layerBytes != 0) {
                    throw new IllegalStateException("unexpected block " + m.blockIndex() + " layer " + m.layer()
                            + " (" + m.bytes() + " bytes); expected block " + expectIndex + " layer "
                            + expectLayer);
                }
                expectLayer += (int) (m.bytes() / layerBytes);
                if (expectLayer == layers) {
                    if (m.hasCrc() && m.blockCrc() == m.computedCrc()) {
                        intact.set(expectIndex - first);
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
        for (int i = first; i < last; i++) {
            if (!intact.get(i - first)) {
                failed.add(localBlocks[i - first]);
            }
        }
        return failed;
    }
}
