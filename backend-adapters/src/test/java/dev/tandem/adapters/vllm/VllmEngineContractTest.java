package dev.tandem.adapters.vllm;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.conformance.engine.EngineContractTest;
import java.util.Map;

/**
 * The Engine TCK against {@code --engine vllm} with the fake vLLM server of ../shared as its command: the adapter's
 * request path, KV events and cache dump keep the contract the built-in engine keeps.
 */
class VllmEngineContractTest extends EngineContractTest {

    @Override
    protected EngineProvider provider() {
        return new VllmEngineProvider();
    }

    @Override
    protected EngineConfig.Builder config() {
        String fake = SharedFixtures.require("checks/lib/fake_vllm.py").toString();
        return super.config()
                .model("fake-llm")
                .options(Map.of("command", "/usr/bin/python3 " + fake, "startup-timeout", "60"));
    }
}
