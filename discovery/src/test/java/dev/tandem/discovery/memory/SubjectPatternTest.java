package dev.tandem.discovery.memory;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SubjectPatternTest {

    @ParameterizedTest(name = "{0} matches {1}")
    @CsvSource({
        "a.b.c, a.b.c",
        "a.*.c, a.b.c",
        "*.*.*, a.b.c",
        "a.>, a.b",
        "a.>, a.b.c.d",
        ">, a",
        ">, a.b.c",
        "a.*.>, a.b.c",
        "tandem.v1.kv.default.*, tandem.v1.kv.default.worker-1",
    })
    void matching(String pattern, String subject) {
        assertThat(SubjectPattern.matches(pattern, subject)).isTrue();
    }

    @ParameterizedTest(name = "{0} does not match {1}")
    @CsvSource({
        "a.b.c, a.b",
        "a.b, a.b.c",
        "a.b.c, a.b.d",
        "a.*, a",
        "a.*, a.b.c",
        "*, a.b",
        "a.>, a",
        "a.*.>, a.b",
        "b.>, a.b",
        "a.>.c, a.b.c",
        "tandem.v1.kv.default.*, tandem.v1.kv.other.worker-1",
        "tandem.v1.kv.default.*, tandem.v1.load.default.worker-1",
        "ab, a",
        "a, ab",
    })
    void notMatching(String pattern, String subject) {
        assertThat(SubjectPattern.matches(pattern, subject)).isFalse();
    }
}
