package dev.tandem.adapters.launch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.adapters.kvevents.KvEventFeed;
import dev.tandem.adapters.kvevents.ZmqKvEventSubscriber;
import dev.tandem.adapters.openai.OpenAiEngine;
import dev.tandem.adapters.process.LoopbackPorts;
import dev.tandem.adapters.process.SupervisedProcess;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.EngineProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
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

    private static final int BIND_ATTEMPTS = 3;

    /** The openai adapter's, plus KV events and the blocks they announced (the dump). */
    static final EngineCapabilities CAPABILITIES =
            new EngineCapabilities(true, true, true, false, true, false, true, false);

    /** What the launched server offers through Tandem; token ids unless its OpenAI server cannot return them. */
    protected EngineCapabilities capabilities() {
        return CAPABILITIES;
    }

    /** The command when none is given ({@code vllm}, {@code python3 -m sglang.launch_server}). */
    protected abstract String defaultCommand();

    /** The loopback ports of one child: its HTTP API, and its KV-event publisher and replay (when it uses ZMQ). */
    protected record Ports(int http, String events, String replay) {}

    /**
     * The arguments after the command that start a server for the configured model on 127.0.0.1 with blocks of
     * the configured size, publishing KV events where {@code ports} say, reporting cached tokens.
     */
    protected abstract List<String> serveArgs(EngineConfig config, Ports ports) throws IOException;

    /** Where the child's KV events come from; by default vLLM's ZMQ publisher at {@code ports}. */
    protected KvEventFeed eventFeed(EngineConfig config, Ports ports) {
        return new ZmqKvEventSubscriber(
                config.workerId(), ports.events(), ports.replay(), TOPIC, config.blockSize(), config.kvEvents());
    }

    /** Files the child needed (a configuration file), removed when the engine closes; none by default. */
    protected void cleanUp(Ports ports) {}

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
        for (int attempt = 1; ; attempt++) {
            try {
                return launch(config, o);
            } catch (EngineException e) {
                // another process took a port between our choice and the child's bind: choose again
                if (attempt >= BIND_ATTEMPTS || !LoopbackPorts.bindFailed(e)) {
                    throw e;
                }
            }
        }
    }

    private Engine launch(EngineConfig config, LaunchOptions o) {
        int[] free = LoopbackPorts.distinct(3);
        Ports ports = new Ports(free[0], "tcp://*:" + free[1], "tcp://*:" + free[2]);
        int http = ports.http();
        List<String> cmd = new ArrayList<>(o.command());
        try {
            cmd.addAll(serveArgs(config, ports));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        cmd.addAll(o.extraArgs());
        Map<String, String> env = new HashMap<>();
        if (o.cudaVisibleDevices() != null) {
            env.put("CUDA_VISIBLE_DEVICES", o.cudaVisibleDevices());
        }
        SupervisedProcess child = new SupervisedProcess(
                config.workerId() + " " + name(), cmd, env, URI.create("http://127.0.0.1:" + http + "/health"));
        KvEventFeed subscriber = null;
        try {
            // Subscribe once the child listens (it publishes nothing before its first request): connecting earlier,
            // a retried TCP connect to a free ephemeral port can connect to itself and take the port from the child.
            subscriber = eventFeed(config, ports);
            child.onRestart(subscriber::publisherRestarted);
            child.onExit(subscriber::publisherStopped);
            child.start(o.startupTimeout());
            subscriber.start();
            String tokenizer = o.tokenizer() != null ? o.tokenizer() : config.model();
            OpenAiEngine requests =
                    OpenAiEngine.connect(config, "http://127.0.0.1:" + http + "/v1", null, tokenizer, capabilities());
            return new LaunchedEngine(child, requests, subscriber, () -> cleanUp(ports));
        } catch (IOException e) {
            close(subscriber, child);
            throw new EngineException(EngineException.Kind.UNAVAILABLE, e.getMessage(), e);
        } catch (RuntimeException e) {
            close(subscriber, child);
            throw e;
        }
    }

    private static void close(KvEventFeed subscriber, SupervisedProcess child) {
        if (subscriber != null) {
            subscriber.close();
        }
        child.close();
    }

    /** vLLM's {@code --kv-events-config} JSON (SGLang takes the same) for these ports. */
    protected static String eventsConfig(Ports ports) {
        return eventsConfig(ports.events(), ports.replay());
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
}
