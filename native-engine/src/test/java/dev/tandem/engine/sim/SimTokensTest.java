package dev.tandem.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class SimTokensTest {

    @Test
    void rejectsAnEmptyTokenRange() {
        assertThatThrownBy(() -> new SimTokens(0, 5, 5, -1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SimTokens(0, -1, 5, -1, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Property
    void theHashOfASequenceIsItsTokensRolledInOrder(
            @ForAll @Size(max = 50) int[] tokens, @ForAll @IntRange(min = 0, max = 50) int cut) {
        int n = Math.min(cut, tokens.length);
        long h = 0;
        for (int i = 0; i < n; i++) {
            h = SimTokens.roll(h, tokens[i]);
        }
        assertThat(SimTokens.hashOf(tokens, n)).isEqualTo(h);
    }

    @Test
    void theHashDependsOnOrderAndOnEveryToken() {
        long ab = SimTokens.hashOf(new int[] {1, 2}, 2);
        assertThat(ab).isNotEqualTo(SimTokens.hashOf(new int[] {2, 1}, 2));
        assertThat(ab).isNotEqualTo(SimTokens.hashOf(new int[] {1, 3}, 2));
        assertThat(SimTokens.hashOf(new int[] {0}, 1))
                .as("a zero token still changes the hash")
                .isNotZero();
        assertThat(SimTokens.hashOf(new int[] {1, 2, 99}, 2))
                .as("only the first length tokens count")
                .isEqualTo(ab);
    }

    @Property
    void tokensStayInTheConfiguredRangeOrAreEos(@ForAll long seed, @ForAll long state) {
        SimTokens t = new SimTokens(seed, 32, 127, 257, 16);
        int tok = t.next(state);
        assertThat(tok == 257 || (tok >= 32 && tok < 127)).as("token %d", tok).isTrue();
    }

    @Property
    void theNextTokenIsAPureFunctionOfSeedAndState(@ForAll long seed, @ForAll long state) {
        SimTokens a = new SimTokens(seed, 0, 50_000, -1, 0);
        SimTokens b = new SimTokens(seed, 0, 50_000, -1, 0);
        assertThat(a.next(state)).isEqualTo(b.next(state));
    }

    @Test
    void differentSeedsGiveDifferentStreams() {
        SimTokens a = new SimTokens(1, 0, 50_000, -1, 0);
        SimTokens b = new SimTokens(2, 0, 50_000, -1, 0);
        int same = 0;
        for (long s = 0; s < 1000; s++) {
            if (a.next(s) == b.next(s)) {
                same++;
            }
        }
        assertThat(same).isLessThan(10);
    }

    @Test
    void eosAppearsAboutOnceInEosOneInTokens() {
        SimTokens t = new SimTokens(3, 32, 127, 257, 8);
        int eos = 0;
        Set<Integer> seen = new HashSet<>();
        for (long s = 0; s < 8000; s++) {
            int tok = t.next(SimTokens.roll(0, (int) s));
            seen.add(tok);
            if (tok == 257) {
                eos++;
            }
        }
        assertThat(eos).isBetween(800, 1200);
        assertThat(seen).as("the whole range is used").hasSize(127 - 32 + 1);
    }

    @Test
    void noEosIsEverEmittedWithoutAnEosIdOrFrequency() {
        SimTokens never = new SimTokens(3, 0, 10, 5, 0);
        SimTokens none = new SimTokens(3, 0, 10, -1, 1);
        Set<Integer> seen = new HashSet<>();
        for (long s = 0; s < 5000; s++) {
            seen.add(never.next(s));
            assertThat(none.next(s)).isBetween(0, 9);
        }
        assertThat(seen).as("5 is an ordinary token when EOS is off").contains(5);
    }

    @Test
    void eosOneInOneMakesEveryTokenEos() {
        SimTokens t = new SimTokens(3, 32, 127, 257, 1);
        for (long s = 0; s < 100; s++) {
            assertThat(t.next(s)).isEqualTo(257);
        }
    }
}
