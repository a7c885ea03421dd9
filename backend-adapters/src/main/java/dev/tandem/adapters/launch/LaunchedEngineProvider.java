package dev.tandem.adapters.launch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.adapters.openai.OpenAiEngine;
import dev.tandem.adapters.process.SupervisedProcess;
import dev.tandem.adapters.zmq.ZmqKvEventSubscriber;
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
 * An engine whose server each worker launches itself (vLLM, SGLang): the child on free loopback ports for HTTP, KV
 * events and their replay, supervised; requests through the OpenAI adapter's path; KV events over ZMQ in vLLM's
 * format (SGLang publishes the same), translated for Tandem's router. Subclasses say how the server is started.
 */
public abstract class LaunchedEngineProvider implements EngineProvider {

    /** The topic the children publish KV events under. */
    public static final String TOPIC = "kv-events";

    /** The openai adapter's, plus KV events and the blocks they announced (the dump). */
    static final EngineCapabilities CAPABILITIES =
            new EngineCapabilities(true, true, true, false, true, false, true, false);

    /** The command when none is given ({@code vllm}, {@code python3 -m sglang.launch_server}). */
    protected abstract String defaultCommand();

    /**
     * The arguments after the command that start a server for {@code model} on 127.0.0.1:{@code port} with blocks
     * of {@code blockSize} tokens, publishing KV events as {@code eventsConfig} (JSON) says, reporting cached tokens.
     */
    protected abstract List<String> serveArgs(String model, int port, int blockSize, String eventsConfig);

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Engine create(EngineConfig config) {
        LaunchOptions o = LaunchOptions.parse(name(), defaultCommand(), config.options());
        if (config.model() == null) {
            throw new IllegalArgumentException("--engine " + name() + " needs --model (what the server loads)");
        }
        int http = freePort();
        String events = "tcp://*:" + freePort();
        String replay = "tcp://*:" + freePort();
        List<String> cmd = new ArrayList<>(o.command());
        cmd.addAll(serveArgs(config.model(), http, config.blockSize(), eventsConfig(events, replay)));
        cmd.addAll(o.extraArgs());
        Map<String, String> env = new HashMap<>();
        if (o.cudaVisibleDevices() != null) {
            env.put("CUDA_VISIBLE_DEVICES", o.cudaVisibleDevices());
        }
        SupervisedProcess child = new SupervisedProcess(
                config.workerId() + " " + name(), cmd, env, URI.create("http://127.0.0.1:" + http + "/health"));
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
            return new LaunchedEngine(child, requests, subscriber);
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
