package dev.tandem.orchestrator.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class StopStringMatcherTest {

    @Test
    void stopStringSplitAcrossPiecesIsCutExactly() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        StringBuilder out = new StringBuilder();
        for (String piece : List.of("hello S", "T", "O", "P and more")) {
            out.append(m.add(piece));
        }
        assertThat(out.toString()).isEqualTo("hello ");
        assertThat(m.stopped()).isTrue();
        assertThat(m.add("later")).isEmpty();
    }

    @Test
    void heldBackPrefixIsReleasedWhenItTurnsOutNotToBeAStop() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertThat(m.add("ab ST")).isEqualTo("ab ");
        assertThat(m.add("X")).isEqualTo("STX");
        assertThat(m.add("S")).isEmpty();
        assertThat(m.flush()).isEqualTo("S");
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("zz", "b"));
        assertThat(m.add("aabzz")).isEqualTo("aa");
    }

    @Property(tries = 300)
    void outputIsTheTextBeforeTheFirstStopWhateverThePieces(
            @ForAll @StringLength(max = 40) String text, @ForAll @IntRange(min = 1, max = 5) int pieceLength) {
        String stop = "ab";
        StopStringMatcher m = new StopStringMatcher(List.of(stop));
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i += pieceLength) {
            out.append(m.add(text.substring(i, Math.min(text.length(), i + pieceLength))));
        }
        out.append(m.flush());
        int cut = text.indexOf(stop);
        assertThat(out.toString()).isEqualTo(cut < 0 ? text : text.substring(0, cut));
    }
}
