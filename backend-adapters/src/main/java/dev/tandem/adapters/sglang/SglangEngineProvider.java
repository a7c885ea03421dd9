package dev.tandem.adapters.sglang;

import dev.tandem.adapters.launch.LaunchedEngineProvider;
import java.util.List;

/**
 * {@code --engine sglang}: each worker runs {@code python3 -m sglang.launch_server --model-path MODEL --host
 * 127.0.0.1 --port P --page-size B --kv-events-config JSON --enable-cache-report [args]} as a supervised child (the
 * page size is SGLang's block size; the cache report puts cached tokens in usage). SGLang publishes KV events in
 * vLLM's ZMQ format, so routing works as for vLLM.
 */
public final class SglangEngineProvider extends LaunchedEngineProvider {

    @Override
    public String name() {
        return "sglang";
    }

    @Override
    protected String defaultCommand() {
        return "python3 -m sglang.launch_server";
    }

    @Override
    protected List<String> serveArgs(String model, int port, int blockSize, String eventsConfig) {
        return List.of(
                "--model-path",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--page-size",
                String.valueOf(blockSize),
                "--kv-events-config",
                eventsConfig,
                "--enable-cache-report");
    }
}
