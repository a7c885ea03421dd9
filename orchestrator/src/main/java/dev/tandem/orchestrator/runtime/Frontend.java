package dev.tandem.orchestrator.runtime;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.events.EventPlane;
import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.frontend.HttpFrontend;
import dev.tandem.orchestrator.frontend.OpenAiService;
import dev.tandem.orchestrator.preprocess.ModelResolver;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RouterReplicaSync;
import java.io.IOException;
import java.util.function.Function;

/**
 * The frontend role: HTTP API, router and the live worker view, over any discovery, event plane and request
 * plane. With a replica id, the router shares its decisions with the other frontends of the namespace.
 */
public final class Frontend implements AutoCloseable {

    private final Router router;
    private final WorkerPool pool;
    private final HttpFrontend http;
    private final RouterReplicaSync sync;

    private Frontend(Router router, WorkerPool pool, HttpFrontend http, RouterReplicaSync sync) {
        this.router = router;
        this.pool = pool;
        this.http = http;
        this.sync = sync;
    }

    /**
     * Builds and starts a frontend; the HTTP port is bound when this returns.
     *
     * @param replicaId null for a lone frontend; otherwise the id it syncs router decisions under
     */
    public static Frontend start(
            FrontendConfig config,
            String namespace,
            int blockSize,
            Router router,
            Discovery discovery,
            EventPlane events,
            Function<String, WorkerClient> connector,
            String replicaId)
            throws IOException {
        WorkerPool pool = new WorkerPool(namespace, blockSize, router, discovery, events, connector);
        RouterReplicaSync sync = replicaId == null ? null : new RouterReplicaSync(router, events, namespace, replicaId);
        HttpFrontend http = new HttpFrontend(new OpenAiService(pool, router, new ModelResolver(), config));
        try {
            http.start();
        } catch (RuntimeException e) {
            pool.close();
            if (sync != null) {
                sync.close();
            }
            throw e;
        }
        return new Frontend(router, pool, http, sync);
    }

    public int port() {
        return http.port();
    }

    public Router router() {
        return router;
    }

    public WorkerPool pool() {
        return pool;
    }

    /** See {@link HttpFrontend#drain}: the graceful stop of SIGTERM, before {@link #close()}. */
    public boolean drain(java.time.Duration timeout) throws InterruptedException {
        return http.drain(timeout);
    }

    @Override
    public void close() {
        http.close();
        if (sync != null) {
            sync.close();
        }
        pool.close();
    }
}
