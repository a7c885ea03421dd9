package dev.tandem.api.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class KvEventCodecTest {

    @Test
    void batchSurvivesTheWireWithUnsignedHashesAndEmptyParent() throws Exception {
        var batch = new KvEventBatch(
                "w1",
                42,
                List.of(
                        new KvEvent.BlockStored(null, new long[] {-1L, 7L}),
                        new KvEvent.BlockStored(7L, new long[] {Long.MIN_VALUE}),
                        new KvEvent.BlockRemoved(new long[] {-1L}),
                        new KvEvent.AllBlocksCleared()));
        KvEventBatch back = KvEventCodec.decodeBatch(KvEventCodec.encode(batch));
        assertThat(back.workerId()).isEqualTo("w1");
        assertThat(back.eventId()).isEqualTo(42);
        assertThat(back.events()).hasSize(4);
        var first = (KvEvent.BlockStored) back.events().get(0);
        assertThat(first.parentHash()).isNull();
        assertThat(first.blockHashes()).containsExactly(-1L, 7L);
        assertThat(((KvEvent.BlockStored) back.events().get(1)).parentHash()).isEqualTo(7L);
        assertThat(((KvEvent.BlockRemoved) back.events().get(2)).blockHashes()).containsExactly(-1L);
        assertThat(back.events().get(3)).isInstanceOf(KvEvent.AllBlocksCleared.class);
    }

    @Test
    void theTierOfAStoreOrRemovalSurvivesTheWireAndThePrimaryCacheHasNone() throws Exception {
        var batch = new KvEventBatch(
                "w1",
                1,
                List.of(
                        new KvEvent.BlockStored(5L, new long[] {6L}, KvEvent.HOST),
                        new KvEvent.BlockRemoved(new long[] {6L}, KvEvent.DISK),
                        new KvEvent.BlockStored(null, new long[] {1L})));
        KvEventBatch back = KvEventCodec.decodeBatch(KvEventCodec.encode(batch));
        assertThat(((KvEvent.BlockStored) back.events().get(0)).medium()).isEqualTo("CPU");
        assertThat(((KvEvent.BlockRemoved) back.events().get(1)).medium()).isEqualTo("DISK");
        assertThat(((KvEvent.BlockStored) back.events().get(2)).medium()).isNull();
    }

    @Test
    void loadSnapshotSurvivesTheWire() throws Exception {
        var s = new LoadSnapshot("w", 3, 4, 100, 1000, 5000, 123456789L, 640, 320, 2);
        assertThat(KvEventCodec.decodeLoad(KvEventCodec.encode(s))).isEqualTo(s);
    }
}
