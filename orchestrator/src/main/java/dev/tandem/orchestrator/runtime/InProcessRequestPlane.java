package dev.tandem.orchestrator.runtime;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.kv.KvStateDump;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The request plane inside one JVM: addresses {@code inproc://{instance-id}} resolve to engines bound here. Calls go
 * straight to the engine, with no serialization.
 */
public final class InProcessRequestPlane {

    public static final String SCHEME = "inproc://";

    private final Map<String, Engine> engines = new ConcurrentHashMap<>();

    /** Binds {@code engine} and returns its address. */
    public String bind(String instanceId, Engine engine) {
        engines.put(instanceId, engine);
        return SCHEME + instanceId;
    }

    public void unbind(String instanceId) {
        engines.remove(instanceId);
    }

    /** A client for {@code address}; it fails with UNAVAILABLE once the engine is unbound. */
    public WorkerClient connect(String address) {
        if (!address.startsWith(SCHEME)) {
            throw new IllegalArgumentException("not an in-process address: " + address);
        }
        String id = address.substring(SCHEME.length());
        return new WorkerClient() {
            @Override
            public String instanceId() {
                return id;
            }

            @Override
            public Generation generate(GenerateRequest request, TokenListener listener) {
                return engine().generate(request, listener);
            }

            @Override
            public KvStateDump dumpKvState() {
                return engine().dumpKvState();
            }

            private Engine engine() {
                Engine e = engines.get(id);
                if (e == null) {
                    throw new EngineException(EngineException.Kind.UNAVAILABLE, "worker " + id + " is gone");
                }
                return e;
            }
        };
    }
}
