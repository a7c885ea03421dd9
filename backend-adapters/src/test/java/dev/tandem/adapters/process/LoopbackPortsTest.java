package dev.tandem.adapters.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {

    @RepeatedTest(20)
    void portsChosenTogetherAreDistinct() {
        int[] ports = LoopbackPorts.distinct(8);
        assertThat(Arrays.stream(ports).distinct().count()).isEqualTo(8);
        assertThat(Arrays.stream(ports).boxed().toList()).allMatch(p -> p > 0 && p < 65536);
    }

    @Test
    void aChildThatCouldNotBindReadsAsABindFailureAndOtherFailuresDoNot() {
        assertThat(
                        LoopbackPorts.bindFailed(
                                new IOException(
                                        "vllm exited with status 1 while starting; its last output:\nOSError: [Errno 98] Address already in use")))
                .isTrue();
        assertThat(LoopbackPorts.bindFailed(new IOException("vllm exited with status 1: CUDA out of memory")))
                .isFalse();
        assertThat(LoopbackPorts.bindFailed(new IOException((String) null))).isFalse();
    }
}
