package dev.tandem.adapters.vllm;

import dev.tandem.adapters.launch.LaunchedEngineProvider;
import dev.tandem.api.engine.EngineConfig;
import java.util.List;

/**
 * {@code --engine vllm}: each worker runs {@code vllm serve MODEL --host 127.0.0.1 --port P --block-size B
 * --kv-events-config JSON --enable-prompt-tokens-details [args]} as a supervised child (the block size so that
 * vLLM's blocks and the router's agree; prompt-token details so that usage reports cached tokens).
 */
public final class VllmEngineProvider extends LaunchedEngineProvider {

    @Override
    public String name() {
        return "vllm";
    }

    @Override
    protected String defaultCommand() {
        return "vllm";
    }

    @Override
    protected List<String> serveArgs(EngineConfig config, Ports ports) {
        return List.of(
                "serve",
                config.model(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(ports.http()),
                "--block-size",
                String.valueOf(config.blockSize()),
                "--kv-events-config",
                eventsConfig(ports),
                "--enable-prompt-tokens-details");
    }
}
