package dev.tandem.kvconnector.peer;

import dev.tandem.api.kv.connector.KvLayout;
import dev.tandem.api.proto.KvLayoutDescriptor;

/** KV layouts to and from their wire form. */
final class Layouts {

    private Layouts() {}

    static KvLayoutDescriptor toProto(KvLayout l) {
        return KvLayoutDescriptor.newBuilder()
                .setBlockSize(l.blockSize())
                .setLayers(l.layers())
                .setKvHeads(l.kvHeads())
                .setHeadDim(l.headDim())
                .setDtype(l.dtype())
                .build();
    }

    static boolean matches(KvLayout l, KvLayoutDescriptor d) {
        return l.blockSize() == d.getBlockSize()
                && l.layers() == d.getLayers()
                && l.kvHeads() == d.getKvHeads()
                && l.headDim() == d.getHeadDim()
                && l.dtype().equals(d.getDtype());
    }

    static String describe(KvLayoutDescriptor d) {
        return "block " + d.getBlockSize() + ", " + d.getLayers() + " layers, " + d.getKvHeads()
                + " KV heads, head dim " + d.getHeadDim() + ", " + d.getDtype();
    }
}
