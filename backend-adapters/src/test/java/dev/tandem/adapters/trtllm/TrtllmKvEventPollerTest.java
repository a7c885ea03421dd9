package dev.tandem.adapters.trtllm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** TensorRT-LLM's event JSON, as its serializer writes it, becomes Tandem's events. */
class TrtllmKvEventPollerTest {

    private static final int BS = 2;
    private final List<KvEventBatch> out = new CopyOnWriteArrayList<>();
    private final TrtllmKvEventPoller poller = new TrtllmKvEventPoller("w0", "http://127.0.0.1:1/x", BS, out::add);

    private void receive(String json) throws Exception {
        poller.received(new ObjectMapper().readTree(json));
    }

    private static String block(String hash, int a, int b, int extra, int level) {
        return "{\"type\":\"stored_block\",\"block_hash\":" + hash + ",\"tokens\":[{\"type\":\"unique_token\","
                + "\"token_id\":" + a + ",\"token_extra_id\":" + extra + "},{\"type\":\"unique_token\",\"token_id\":"
                + b + ",\"token_extra_id\":0}],\"cache_level\":" + level + ",\"priority\":35}";
    }

    @Test
    void storedBlocksGetTandemHashesAndRemovalsAndLevelChangesFollow() throws Exception {
        long[] want = BlockHasher.unsalted().sequenceHashes(new int[] {5, 6, 7, 8}, BS);
        receive("[{\"event_id\":0,\"data\":{\"type\":\"created\",\"num_blocks_per_cache_level\":[8,0]}},"
                + "{\"event_id\":1,\"window_size\":64,\"data\":{\"type\":\"stored\",\"parent_hash\":null,\"blocks\":["
                + block("18446744073709551557", 5, 6, 0, 0) + "," + block("7", 7, 8, 0, 0) + "]}},"
                + "{\"event_id\":2,\"data\":{\"type\":\"updated\",\"block_hash\":7,"
                + "\"cache_level\":{\"type\":\"event_diff\",\"new_value\":1,\"old_value\":0}}}]");
        assertThat(out).hasSize(1);
        List<KvEvent> events = out.getFirst().events();
        assertThat(((KvEvent.BlockStored) events.get(0)).blockHashes()).containsExactly(want);
        assertThat(((KvEvent.BlockRemoved) events.get(1)).blockHashes())
                .as("moved to host memory: no longer a GPU hit")
                .containsExactly(want[1]);
        assertThat(poller.dump().blockHashes()).containsExactly(want[0]);
    }

    @Test
    void blocksWithExtraIdsOrOnAnotherLevelAreNotRouted() throws Exception {
        receive("[{\"event_id\":0,\"data\":{\"type\":\"stored\",\"parent_hash\":null,\"blocks\":["
                + block("1", 5, 6, 42, 0) + "]}},{\"event_id\":1,\"data\":{\"type\":\"stored\",\"parent_hash\":null,"
                + "\"blocks\":[" + block("2", 5, 6, 0, 1) + "]}}]");
        assertThat(poller.dump().blockHashes()).isEmpty();
    }

    @Test
    void aGapInEventIdsDropsTheWorkersBlocksBeforeNewerOnes() throws Exception {
        receive("[{\"event_id\":0,\"data\":{\"type\":\"stored\",\"parent_hash\":null,\"blocks\":["
                + block("1", 5, 6, 0, 0) + "]}}]");
        receive("[{\"event_id\":5,\"data\":{\"type\":\"stored\",\"parent_hash\":null,\"blocks\":["
                + block("9", 1, 2, 0, 0) + "]}}]");
        assertThat(out)
                .extracting(b -> b.events().getFirst().getClass().getSimpleName())
                .containsExactly("BlockStored", "AllBlocksCleared", "BlockStored");
        assertThat(poller.dump().blockHashes()).hasSize(1);
    }
}
