package dev.tandem.adapters.trtllm;

import dev.tandem.adapters.kvevents.KvEventFeed;
import dev.tandem.adapters.launch.LaunchedEngineProvider;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code --engine trtllm}: each worker runs {@code trtllm-serve MODEL --host 127.0.0.1 --port P
 * --extra_llm_api_options FILE [args]} as a supervised child, the file enabling block reuse and KV-cache events
 * ({@code kv_cache_config.enable_block_reuse}, {@code event_buffer_max_size}) with Tandem's block size
 * ({@code tokens_per_block}). Its KV events are polled from {@code POST /kv_cache_events}. TensorRT-LLM's OpenAI
 * server refuses unknown request fields, so vLLM's {@code return_token_ids} is not sent: it streams text, which the
 * frontend passes through, with usage counted by the server.
 */
public final class TrtllmEngineProvider extends LaunchedEngineProvider {

    /** Events TensorRT-LLM keeps between two polls; a poll every 100 ms drains far fewer. */
    static final int EVENT_BUFFER = 16_384;

    private final Map<Integer, Path> optionFiles = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "trtllm";
    }

    @Override
    protected String defaultCommand() {
        return "trtllm-serve";
    }

    @Override
    protected EngineCapabilities capabilities() {
        return new EngineCapabilities(false, true, true, false, true, false, true, false);
    }

    @Override
    protected List<String> serveArgs(EngineConfig config, Ports ports) throws IOException {
        Path file = Files.createTempFile("tandem-trtllm-" + config.workerId() + "-", ".yaml");
        Files.writeString(
                file,
                "kv_cache_config:\n"
                        + "  enable_block_reuse: true\n"
                        + "  event_buffer_max_size: " + EVENT_BUFFER + "\n"
                        + "  tokens_per_block: " + config.blockSize() + "\n");
        optionFiles.put(ports.http(), file);
        return List.of(
                config.model(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(ports.http()),
                "--extra_llm_api_options",
                file.toString());
    }

    @Override
    protected KvEventFeed eventFeed(EngineConfig config, Ports ports) {
        return new TrtllmKvEventPoller(
                config.workerId(),
                "http://127.0.0.1:" + ports.http() + "/kv_cache_events",
                config.blockSize(),
                config.kvEvents());
    }

    @Override
    protected void cleanUp(Ports ports) {
        Path file = optionFiles.remove(ports.http());
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temporary file left behind is harmless
            }
        }
    }
}
