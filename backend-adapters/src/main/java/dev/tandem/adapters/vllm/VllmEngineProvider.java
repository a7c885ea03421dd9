package dev.tandem.adapters.vllm;

import dev.tandem.adapters.launch.LaunchedEngineProvider;
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
    protected List<String> serveArgs(String model, int port, int blockSize, String eventsConfig) {
        return List.of(
                "serve",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--block-size",
                String.valueOf(blockSize),
                "--kv-events-config",
                eventsConfig,
                "--enable-prompt-tokens-details");
    }
}
