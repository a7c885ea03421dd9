package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import dev.tandem.conformance.engine.EngineContractTest;
import dev.tandem.orchestrator.testing.TestCluster;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The Engine TCK against {@code --engine openai}, with Tandem's own server (sim engine) as the real upstream. */
class OpenAiEngineContractTest extends EngineContractTest {

    private static TestCluster upstream;

    @BeforeAll
    static void startUpstream() throws Exception {
        FrontendConfig fc = new FrontendConfig("127.0.0.1", 0, 4 << 20, 256, Duration.ofMinutes(2));
        upstream = TestCluster.start(fc, 1, 50);
    }

    @AfterAll
    static void stopUpstream() {
        upstream.close();
    }

    @Override
    protected EngineProvider provider() {
        return Engines.provider("openai");
    }

    @Override
    protected EngineConfig.Builder config() {
        return super.config().options(Map.of("upstream", upstream.baseUrl() + "/v1"));
    }
}
