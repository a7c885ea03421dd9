package dev.tandem.adapters.trtllm;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import java.nio.file.Path;
import java.util.Map;

/**
 * The Engine TCK against {@code --engine trtllm}, with a fake trtllm-serve (test resource fake_trtllm.py) that
 * refuses unknown request fields, streams text without ids and serves polled KV-cache events in TensorRT-LLM's
 * JSON: the cases that need token ids do not apply, and say so.
 */
class TrtllmEngineContractTest extends dev.tandem.conformance.engine.EngineContractTest {

    @Override
    protected EngineProvider provider() {
        return new TrtllmEngineProvider();
    }

    @Override
    protected EngineConfig.Builder config() {
        String fake;
        try {
            fake = Path.of(getClass().getResource("/fake_trtllm.py").toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return super.config()
                .model("trt-llm")
                .options(Map.of("command", "/usr/bin/python3 " + fake, "startup-timeout", "60"));
    }
}
