package dev.tandem.api.kv;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.testing.SharedFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockHasherTest {

    private static String unsigned(long v) {
        return Long.toUnsignedString(v);
    }

    @Test
    void reproducesEveryGoldenVectorOfTheReferenceLibrary() throws IOException {
        Path golden = SharedFixtures.require("reference/block-hash-golden.json");
        JsonNode cases = new ObjectMapper().readTree(golden.toFile()).get("cases");
        assertThat(cases.size()).isGreaterThan(3);
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            int blockSize = c.get("block_size").asInt();
            String salt = c.get("salt").isNull() ? null : c.get("salt").asText();
            int[] tokens = new int[c.get("tokens").size()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = (int) c.get("tokens").get(i).asLong();
            }
            BlockHasher hasher = BlockHasher.forSalt(salt);
            assertThat(unsigned(hasher.seed()))
                    .as(name + " seed")
                    .isEqualTo(c.get("seed").asText());
            assertThat(toStrings(hasher.localHashes(tokens, blockSize)))
                    .as(name + " local hashes")
                    .isEqualTo(texts(c.get("local_hashes")));
            assertThat(toStrings(hasher.sequenceHashes(tokens, blockSize)))
                    .as(name + " sequence hashes")
                    .isEqualTo(texts(c.get("sequence_hashes")));
        }
    }

    @Test
    void partialTrailingBlockIsNotHashed() {
        int[] tokens = new int[37];
        assertThat(BlockHasher.unsalted().sequenceHashes(tokens, 16)).hasSize(2);
    }

    @Test
    void sameBlockBehindDifferentPrefixesHashesDifferently() {
        int[] a = {1, 2, 3, 4, 9, 9, 9, 9};
        int[] b = {5, 6, 7, 8, 9, 9, 9, 9};
        long[] ha = BlockHasher.unsalted().sequenceHashes(a, 4);
        long[] hb = BlockHasher.unsalted().sequenceHashes(b, 4);
        assertThat(ha[1]).isNotEqualTo(hb[1]);
        assertThat(BlockHasher.unsalted().localHashes(a, 4)[1])
                .isEqualTo(BlockHasher.unsalted().localHashes(b, 4)[1]);
    }

    @Test
    void saltIsolatesCacheEntries() {
        int[] t = {1, 2, 3, 4};
        assertThat(BlockHasher.forSalt("a").sequenceHashes(t, 4)[0])
                .isNotEqualTo(BlockHasher.unsalted().sequenceHashes(t, 4)[0]);
        assertThat(BlockHasher.forSalt("")).isSameAs(BlockHasher.unsalted());
    }

    private static List<String> toStrings(long[] values) {
        List<String> out = new ArrayList<>();
        for (long v : values) {
            out.add(unsigned(v));
        }
        return out;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
