package dev.tandem.conformance.engine;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import java.util.Map;

/** The Engine TCK against the built-in engine computing on the CPU (its demo model). */
class NativeEngineContractTest extends EngineContractTest {

    @Override
    protected EngineProvider provider() {
        return Engines.provider("native");
    }

    @Override
    protected EngineConfig.Builder config() {
        return super.config().options(Map.of("threads", "2"));
    }
}
