package dev.tandem.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The formulas of {@link SimTimingModel}'s Javadoc, checked against values worked out by hand. */
class SimTimingModelTest {

    private static final double EPS = 1e-9;

    @Test
    void prefillFollowsTheFittedQuadraticInNewPromptTokens() {
        // 4.209989e-07·t² + 1.518344e-02·t + 16.50142
        assertThat(SimTimingModel.prefillMillis(0)).isCloseTo(16.50142, within(EPS));
        assertThat(SimTimingModel.prefillMillis(100)).isCloseTo(18.023973989, within(EPS));
        assertThat(SimTimingModel.prefillMillis(1000)).isCloseTo(32.1058589, within(EPS));
        assertThat(SimTimingModel.prefillMillis(8192)).isCloseTo(169.1369184042496, within(1e-6));
    }

    @Test
    void prefillDoesNotOverflowForLongPrompts() {
        // t² in int arithmetic would overflow at 46,341 tokens.
        assertThat(SimTimingModel.prefillMillis(100_000))
                .isCloseTo(4.209989e-07 * 1e10 + 1.518344e-02 * 1e5 + 16.50142, within(1e-6));
    }

    @Test
    void decodeFollowsTheFittedQuadraticInKvUsage() {
        // max(1, −25.74·p² + 54.01·p + 5.74)
        assertThat(SimTimingModel.decodeMillis(0)).isCloseTo(5.74, within(EPS));
        assertThat(SimTimingModel.decodeMillis(0.5)).isCloseTo(26.31, within(EPS));
        assertThat(SimTimingModel.decodeMillis(1.0)).isCloseTo(34.01, within(EPS));
    }

    @Test
    void decodeNeverTakesLessThanOneMillisecond() {
        // -25.74·6.25 + 54.01·2.5 + 5.74 = -20.11
        assertThat(SimTimingModel.decodeMillis(2.5)).isEqualTo(1.0);
    }

    @Test
    void aStepPaysForThePartsItContains() {
        assertThat(SimTimingModel.stepMillis(0, 0, 0.7)).isZero();
        assertThat(SimTimingModel.stepMillis(0, 5, 0)).isCloseTo(5.74, within(EPS));
        assertThat(SimTimingModel.stepMillis(100, 0, 1.0)).isCloseTo(18.023973989, within(EPS));
        assertThat(SimTimingModel.stepMillis(1000, 3, 0.5)).isCloseTo(58.4158589, within(EPS));
    }

    @Test
    void decodeTimeDoesNotDependOnHowManySequencesDecode() {
        assertThat(SimTimingModel.stepMillis(0, 1, 0.25)).isEqualTo(SimTimingModel.stepMillis(0, 200, 0.25));
    }
}
