package dev.tandem.orchestrator.runtime.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.EngineException;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Engine errors survive the request plane as themselves; the transport's errors never pose as the engine's. */
class ProtoCodecErrorTest {

    @ParameterizedTest
    @EnumSource(EngineException.Kind.class)
    void everyEngineErrorKindCrossesTheWireUnchanged(EngineException.Kind kind) {
        var wire = ProtoCodec.toStatus(new EngineException(kind, "engine said so"));
        EngineException back = ProtoCodec.fromStatus(wire, "w1");
        assertThat(back.kind()).isEqualTo(kind);
        assertThat(back.getMessage()).contains("engine said so");
    }

    @Test
    void resourceExhaustedFromTheTransportIsABrokenStreamToMigrateNotAnOverload() {
        var transport = Status.RESOURCE_EXHAUSTED
                .withDescription("Received GOAWAY with ENHANCE_YOUR_CALM")
                .asRuntimeException();
        assertThat(ProtoCodec.fromStatus(transport, "w1").kind()).isEqualTo(EngineException.Kind.UNAVAILABLE);
    }

    @Test
    void aDeadlineIsNotMigrated() {
        var late = Status.DEADLINE_EXCEEDED.asRuntimeException();
        assertThat(ProtoCodec.fromStatus(late, "w1").kind()).isEqualTo(EngineException.Kind.INTERNAL);
    }
}
