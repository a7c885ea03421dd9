package dev.tandem.adapters.sglang;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.testing.SharedFixtures;
import dev.tandem.conformance.engine.EngineContractTest;
import java.nio.file.Path;
import java.util.Map;

/**
 * The Engine TCK against {@code --engine sglang}: the launcher is a fake (test resource fake_sglang.py) that takes
 * SGLang's launch arguments and runs the fake vLLM server of ../shared in their place, so the adapter's command line,
 * supervision, request path and KV events are all exercised.
 */
class SglangEngineContractTest extends EngineContractTest {

    @Override
    protected EngineProvider provider() {
        return new SglangEngineProvider();
    }

    @Override
    protected EngineConfig.Builder config() {
        String fake = SharedFixtures.require("checks/lib/fake_vllm.py").toString();
        String launcher;
        try {
            launcher =
                    Path.of(getClass().getResource("/fake_sglang.py").toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return super.config()
                .model("fake-llm")
                .options(Map.of("command", "/usr/bin/python3 " + launcher + " " + fake, "startup-timeout", "60"));
    }
}
