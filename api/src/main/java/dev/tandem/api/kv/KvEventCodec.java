package dev.tandem.api.kv;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tandem.api.proto.AllBlocksCleared;
import dev.tandem.api.proto.BlockRemoved;
import dev.tandem.api.proto.BlockStored;
import java.util.ArrayList;
import java.util.List;

/** KV event batches and load snapshots on the wire (the protobuf messages of request_plane.proto). */
public final class KvEventCodec {

    private KvEventCodec() {}

    public static byte[] encode(KvEventBatch batch) {
        var b = dev.tandem.api.proto.KvEventBatch.newBuilder()
                .setWorkerId(batch.workerId())
                .setEventId(batch.eventId())
                .setIncarnation(batch.incarnation());
        for (KvEvent e : batch.events()) {
            var eb = dev.tandem.api.proto.KvEvent.newBuilder();
            switch (e) {
                case KvEvent.BlockStored s -> {
                    var sb = BlockStored.newBuilder();
                    if (s.parentHash() != null) {
                        sb.setParentHash(s.parentHash());
                    }
                    for (long h : s.blockHashes()) {
                        sb.addBlockHashes(h);
                    }
                    if (s.medium() != null) {
                        sb.setMedium(s.medium());
                    }
                    eb.setStored(sb);
                }
                case KvEvent.BlockRemoved r -> {
                    var rb = BlockRemoved.newBuilder();
                    for (long h : r.blockHashes()) {
                        rb.addBlockHashes(h);
                    }
                    if (r.medium() != null) {
                        rb.setMedium(r.medium());
                    }
                    eb.setRemoved(rb);
                }
                case KvEvent.AllBlocksCleared c -> eb.setCleared(AllBlocksCleared.getDefaultInstance());
            }
            b.addEvents(eb);
        }
        return b.build().toByteArray();
    }

    public static KvEventBatch decodeBatch(byte[] bytes) throws InvalidProtocolBufferException {
        var p = dev.tandem.api.proto.KvEventBatch.parseFrom(bytes);
        List<KvEvent> events = new ArrayList<>(p.getEventsCount());
        for (var e : p.getEventsList()) {
            switch (e.getKindCase()) {
                case STORED -> {
                    var s = e.getStored();
                    events.add(new KvEvent.BlockStored(
                            s.hasParentHash() ? s.getParentHash() : null,
                            toArray(s.getBlockHashesList()),
                            s.hasMedium() ? s.getMedium() : null));
                }
                case REMOVED -> {
                    var r = e.getRemoved();
                    events.add(new KvEvent.BlockRemoved(
                            toArray(r.getBlockHashesList()), r.hasMedium() ? r.getMedium() : null));
                }
                case CLEARED -> events.add(new KvEvent.AllBlocksCleared());
                case KIND_NOT_SET -> throw new InvalidProtocolBufferException("KV event without a kind");
            }
        }
        return new KvEventBatch(p.getWorkerId(), p.getEventId(), events, p.getIncarnation());
    }

    public static byte[] encode(LoadSnapshot s) {
        return dev.tandem.api.proto.LoadSnapshot.newBuilder()
                .setWorkerId(s.workerId())
                .setRunningRequests(s.runningRequests())
                .setWaitingRequests(s.waitingRequests())
                .setKvBlocksUsed(s.kvBlocksUsed())
                .setKvBlocksTotal(s.kvBlocksTotal())
                .setPendingPrefillTokens(s.pendingPrefillTokens())
                .setTimestampNanos(s.timestampNanos())
                .setPrefixQueryTokens(s.prefixQueryTokens())
                .setPrefixHitTokens(s.prefixHitTokens())
                .setPreemptions(s.preemptions())
                .build()
                .toByteArray();
    }

    public static LoadSnapshot decodeLoad(byte[] bytes) throws InvalidProtocolBufferException {
        var p = dev.tandem.api.proto.LoadSnapshot.parseFrom(bytes);
        return new LoadSnapshot(
                p.getWorkerId(),
                p.getRunningRequests(),
                p.getWaitingRequests(),
                p.getKvBlocksUsed(),
                p.getKvBlocksTotal(),
                p.getPendingPrefillTokens(),
                p.getTimestampNanos(),
                p.getPrefixQueryTokens(),
                p.getPrefixHitTokens(),
                p.getPreemptions());
    }

    private static long[] toArray(List<Long> list) {
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }
}
