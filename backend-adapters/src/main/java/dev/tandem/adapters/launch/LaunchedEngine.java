package dev.tandem.adapters.launch;

import dev.tandem.adapters.kvevents.KvEventFeed;
import dev.tandem.adapters.openai.OpenAiEngine;
import dev.tandem.adapters.process.SupervisedProcess;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;

/**
 * An engine server run by this worker (vLLM, SGLang): its child process, the OpenAI adapter's request path to it,
 * and its KV events translated for Tandem's router. Closing stops all three.
 */
public final class LaunchedEngine implements Engine {

    /** The supervised child (tests kill it to watch the restart). */
    public SupervisedProcess process() {
        return process;
    }

    private final SupervisedProcess process;
    private final OpenAiEngine requests;
    private final KvEventFeed events;
    private final Runnable cleanUp;

    LaunchedEngine(SupervisedProcess process, OpenAiEngine requests, KvEventFeed events, Runnable cleanUp) {
        this.cleanUp = cleanUp;
        this.process = process;
        this.requests = requests;
        this.events = events;
    }

    @Override
    public EngineInfo info() {
        return requests.info();
    }

    @Override
    public Generation generate(GenerateRequest request, TokenListener listener) {
        return requests.generate(request, listener);
    }

    @Override
    public LoadSnapshot load() {
        return requests.load();
    }

    @Override
    public KvStateDump dumpKvState() {
        return events.dump();
    }

    @Override
    public void close() {
        events.close();
        requests.close();
        process.close();
        cleanUp.run();
    }
}
