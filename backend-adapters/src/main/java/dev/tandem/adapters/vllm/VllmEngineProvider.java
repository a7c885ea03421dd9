package dev.tandem.adapters.vllm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.adapters.openai.OpenAiEngine;
import dev.tandem.adapters.process.SupervisedProcess;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --engine vllm}: each worker runs {@code vllm serve MODEL --host 127.0.0.1 --port P --block-size B
 * --kv-events-config JSON --enable-prompt-tokens-details [args]} as a supervised child, waits for its {@code /health}, serves requests through
 * the OpenAI adapter's path and routes on its KV events (ZMQ publisher and replay endpoint on free loopback ports).
 * The block size is passed so that vLLM's blocks and the router's agree.
 */
public final class VllmEngineProvider implements EngineProvider {

    static final String TOPIC = "kv-events";

    /** The openai adapter's, plus vLLM's KV events and the blocks they announced (the dump). */
    static final EngineCapabilities CAPABILITIES =
            new EngineCapabilities(true, true, true, false, true, false, true, false);

    @Override
    public String name() {
        return "vllm";
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Engine create(EngineConfig config) {
        VllmOptions o = VllmOptions.parse(config.options());
        if (config.model() == null) {
            throw new IllegalArgumentException("--engine vllm needs --model (what `vllm serve` loads)");
        }
        int http = freePort();
        String events = "tcp://*:" + freePort();
        String replay = "tcp://*:" + freePort();
        List<String> cmd = new ArrayList<>(o.command());
        cmd.addAll(List.of(
                "serve",
                config.model(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(http),
                "--block-size",
                String.valueOf(config.blockSize()),
                "--kv-events-config",
                eventsConfig(events, replay),
                // usage then reports cached prompt tokens, as Tandem's own engine does
                "--enable-prompt-tokens-details"));
        cmd.addAll(o.extraArgs());
        Map<String, String> env = new HashMap<>();
        if (o.cudaVisibleDevices() != null) {
            env.put("CUDA_VISIBLE_DEVICES", o.cudaVisibleDevices());
        }
        SupervisedProcess child = new SupervisedProcess(
                config.workerId() + " vllm", cmd, env, URI.create("http://127.0.0.1:" + http + "/health"));
        ZmqKvEventSubscriber subscriber = null;
        try {
            // Subscribe before the child starts publishing: the first batches are then received, not replayed.
            subscriber = new ZmqKvEventSubscriber(
                    config.workerId(), events, replay, TOPIC, config.blockSize(), config.kvEvents());
            subscriber.start();
            child.onRestart(subscriber::publisherRestarted);
            child.start(o.startupTimeout());
            String tokenizer = o.tokenizer() != null ? o.tokenizer() : config.model();
            OpenAiEngine requests =
                    OpenAiEngine.connect(config, "http://127.0.0.1:" + http + "/v1", null, tokenizer, CAPABILITIES);
            return new VllmEngine(child, requests, subscriber);
        } catch (IOException e) {
            close(subscriber, child);
            throw new EngineException(EngineException.Kind.UNAVAILABLE, e.getMessage(), e);
        } catch (RuntimeException e) {
            close(subscriber, child);
            throw e;
        }
    }

    private static void close(ZmqKvEventSubscriber subscriber, SupervisedProcess child) {
        if (subscriber != null) {
            subscriber.close();
        }
        child.close();
    }

    static String eventsConfig(String endpoint, String replay) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("enable_kv_cache_events", true);
        c.put("publisher", "zmq");
        c.put("endpoint", endpoint);
        c.put("replay_endpoint", replay);
        c.put("topic", TOPIC);
        return c.toString();
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
