package dev.tandem.orchestrator.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.tokenizer.ByteLevelTokenizer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class IncrementalDetokenizerTest {

    private final ByteLevelTokenizer tok = ByteLevelTokenizer.INSTANCE;

    @Test
    void multiByteCharacterIsHeldBackUntilComplete() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tok);
        int[] ids = tok.encode("é€"); // 2 + 3 bytes
        assertThat(d.add(ids[0])).isEmpty();
        assertThat(d.add(ids[1])).isEqualTo("é");
        assertThat(d.add(ids[2])).isEmpty();
        assertThat(d.add(ids[3])).isEmpty();
        assertThat(d.add(ids[4])).isEqualTo("€");
    }

    @Test
    void specialIdsDecodeToNothing() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tok);
        assertThat(d.add(ByteLevelTokenizer.BOS)).isEmpty();
        assertThat(d.add('a')).isEqualTo("a");
    }

    @Test
    void flushEmitsAnIncompleteTailAsReplacementCharacter() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tok);
        int[] ids = tok.encode("€");
        d.add(ids[0], ids[1]);
        assertThat(d.flush()).isEqualTo("\uFFFD");
    }

    @Property(tries = 200)
    void piecesConcatenateToTheWholeText(@ForAll String text) {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tok);
        StringBuilder out = new StringBuilder();
        for (int id : tok.encode(text)) {
            out.append(d.add(id));
        }
        out.append(d.flush());
        assertThat(out.toString()).isEqualTo(tok.decode(tok.encode(text)));
    }
}
