package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.engine.cpu.NativeEngineProvider;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code tandem serve} runs real compute by default: the native engine, on a demo model with a long context. */
class ServeDefaultsTest {

    @Test
    void serveDefaultsToTheNativeEngineAndItsDemoModel() {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs();
        assertThat(serve.engine).isEqualTo("native");
        assertThat(serve.model).isNull();
    }

    @Test
    void theDemoModelHasAContextOfAtLeast8192TokensOnTheByteVocabulary() {
        try (Engine e = new NativeEngineProvider()
                .create(EngineConfig.builder()
                        .workerId("demo")
                        .options(Map.of("threads", "1"))
                        .build())) {
            assertThat(e.info().contextLength()).isGreaterThanOrEqualTo(8192);
            assertThat(e.info().vocabSize()).isEqualTo(258); // 256 bytes, BOS, EOS
            assertThat(e.info().eosTokenIds()).containsExactly(257);
        }
    }
}
