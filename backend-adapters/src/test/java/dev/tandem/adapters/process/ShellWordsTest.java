package dev.tandem.adapters.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ShellWordsTest {

    @Test
    void wordsSplitOnWhitespaceAsAShellWould() {
        assertThat(ShellWords.split("  /usr/bin/python3   -m  vllm.entrypoints "))
                .containsExactly("/usr/bin/python3", "-m", "vllm.entrypoints");
    }

    @Test
    void quotesKeepSpacesAndBackslashesEscape() {
        assertThat(ShellWords.split("run 'a b' \"c \\\"d\\\" e\" f\\ g"))
                .containsExactly("run", "a b", "c \"d\" e", "f g");
    }

    @Test
    void nothingIsExpanded() {
        assertThat(ShellWords.split("echo $HOME *")).containsExactly("echo", "$HOME", "*");
    }

    @Test
    void anUnclosedQuoteIsAnError() {
        assertThatThrownBy(() -> ShellWords.split("vllm 'serve")).isInstanceOf(IllegalArgumentException.class);
    }
}
