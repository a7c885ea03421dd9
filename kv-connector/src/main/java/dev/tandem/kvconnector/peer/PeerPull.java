package dev.tandem.kvconnector.peer;

import com.google.protobuf.ByteString;
import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.proto.KvBlockData;
import dev.tandem.api.proto.KvPullRequest;
import dev.tandem.api.proto.KvTransferGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

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
            Iterator<KvBlockData> it = KvTransferGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                    .pull(req.build());
            CRC32C crc = new CRC32C();
            int expectIndex = first;
            int expectLayer = 0;
            boolean first0 = true;
            while (it.hasNext()) {
                KvBlockData m = it.next();
                if (first0) {
                    if (!m.hasLayout() || !Layouts.matches(store.layout(), m.getLayout())) {
                        throw new IllegalStateException("the sender's KV layout differs: "
                                + (m.hasLayout() ? Layouts.describe(m.getLayout()) : "none") + " vs "
                                + store.layout().describe());
                    }
                    first0 = false;
                }
                ByteString data = m.getData();
                if (m.getBlockIndex() != expectIndex || m.getLayer() != expectLayer || data.size() != layerBytes) {
                    throw new IllegalStateException("unexpected block " + m.getBlockIndex() + " layer " + m.getLayer()
                            + " (" + data.size() + " bytes); expected block " + expectIndex + " layer "
                            + expectLayer);
                }
                int local = localBlocks[expectIndex - first];
                ByteBuffer buf = data.asReadOnlyByteBuffer();
                store.writeBlockLayer(local, expectLayer, MemorySegment.ofBuffer(buf));
                crc.update(data.asReadOnlyByteBuffer());
                if (++expectLayer == layers) {
                    if (m.hasBlockCrc32C() && m.getBlockCrc32C() == (int) crc.getValue()) {
                        intact.set(expectIndex - first);
                    } else {
                        LOG.log(
                                System.Logger.Level.WARNING,
                                "KV block {0} of transfer {1} failed its checksum; its tokens are recomputed",
                                expectIndex,
                                params.transferId());
                    }
                    crc.reset();
                    expectLayer = 0;
                    expectIndex++;
                }
            }
        } catch (StatusRuntimeException | IllegalStateException e) {
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
