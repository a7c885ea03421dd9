package dev.tandem.adapters.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.kv.BlockHasher;
import dev.tandem.api.kv.KvEvent;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * vLLM's events, in both wire formats, become the events Tandem's own engine would have published for the same
 * tokens: the router then matches prompts against them with no knowledge of vLLM's hashing.
 */
class KvEventTranslationTest {

    private static final int BS = 4;
    /** Hashes at and above 2^63, as half of vLLM's are: unsigned 64-bit on the wire. */
    private static final BigInteger H1 = new BigInteger("18446744073709551557");

    private static final BigInteger H2 = new BigInteger("9223372036854775809");
    private static final BigInteger H3 = BigInteger.valueOf(42);

    private static int[] tokens(int from, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = from + i;
        }
        return t;
    }

    private static List<KvEvent> translate(KvEventTranslator tr, boolean map, boolean rank, List<Object> events)
            throws Exception {
        return tr.translate(VllmEventDecoder.decode(VllmEvents.batch(map, rank, events)));
    }

    @ParameterizedTest(name = "map format {0}, rank sent {1}")
    @CsvSource({"false,false", "true,true", "true,false"})
    void storedBlocksGetTandemsChainedHashesOfTheirTokens(boolean map, boolean rank) throws Exception {
        int[] all = tokens(100, 3 * BS);
        long[] want = BlockHasher.unsalted().sequenceHashes(all, BS);
        KvEventTranslator tr = new KvEventTranslator(BS);
        // the first two blocks, then the third chained to the second by vLLM's parent hash
        List<KvEvent> first = translate(
                tr,
                map,
                rank,
                List.of(new VllmEvents.Stored(new BigInteger[] {H1, H2}, null, Arrays.copyOf(all, 2 * BS), BS, null)));
        List<KvEvent> second = translate(
                tr,
                map,
                rank,
                List.of(new VllmEvents.Stored(
                        new BigInteger[] {H3}, H2, Arrays.copyOfRange(all, 2 * BS, 3 * BS), BS, null)));
        assertThat(first).singleElement().isInstanceOfSatisfying(KvEvent.BlockStored.class, s -> {
            assertThat(s.parentHash()).isNull();
            assertThat(s.blockHashes()).containsExactly(want[0], want[1]);
        });
        assertThat(second).singleElement().isInstanceOfSatisfying(KvEvent.BlockStored.class, s -> {
            assertThat(s.parentHash()).isEqualTo(want[1]);
            assertThat(s.blockHashes()).containsExactly(want[2]);
        });
        assertThat(tr.held()).containsExactlyInAnyOrder(want);

        List<KvEvent> removed = translate(tr, map, rank, List.of(new VllmEvents.Removed(new BigInteger[] {H3, H1})));
        assertThat(removed)
                .singleElement()
                .isInstanceOfSatisfying(
                        KvEvent.BlockRemoved.class,
                        r -> assertThat(r.blockHashes()).containsExactlyInAnyOrder(want[2], want[0]));
        assertThat(translate(tr, map, rank, List.of(new VllmEvents.Cleared())))
                .singleElement()
                .isInstanceOf(KvEvent.AllBlocksCleared.class);
        assertThat(tr.held()).isEmpty();
    }

    @ParameterizedTest(name = "map format {0}")
    @CsvSource({"false", "true"})
    void blocksWithExtraKeysOrLoraAndTheirChildrenAreNeverRouted(boolean map) throws Exception {
        KvEventTranslator tr = new KvEventTranslator(BS);
        assertThat(translate(
                        tr,
                        map,
                        true,
                        List.of(new VllmEvents.Stored(
                                new BigInteger[] {H1}, null, tokens(1, BS), BS, "salt-or-image"))))
                .isEmpty();
        assertThat(translate(
                        tr,
                        map,
                        true,
                        List.of(new VllmEvents.Stored(new BigInteger[] {H2}, H1, tokens(9, BS), BS, null))))
                .as("a plain child of a special block cannot be chained")
                .isEmpty();
        assertThat(tr.held()).isEmpty();
    }

    @ParameterizedTest(name = "map format {0}")
    @CsvSource({"false", "true"})
    void blocksOfAnotherBlockSizeAreNotRouted(boolean map) throws Exception {
        KvEventTranslator tr = new KvEventTranslator(BS);
        assertThat(translate(
                        tr,
                        map,
                        true,
                        List.of(new VllmEvents.Stored(new BigInteger[] {H1}, null, tokens(1, 2 * BS), 2 * BS, null))))
                .isEmpty();
    }
}
