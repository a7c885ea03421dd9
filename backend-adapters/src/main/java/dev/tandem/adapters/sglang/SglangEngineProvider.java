package dev.tandem.adapters.sglang;

import dev.tandem.adapters.launch.LaunchedEngineProvider;
import dev.tandem.api.engine.EngineConfig;
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
    protected List<String> serveArgs(EngineConfig config, Ports ports) {
        return List.of(
                "--model-path",
                config.model(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(ports.http()),
                "--page-size",
                String.valueOf(config.blockSize()),
                "--kv-events-config",
                eventsConfig(ports),
                "--enable-cache-report");
    }
}
