package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.EngineException;
import dev.tandem.orchestrator.http.HttpRequest;
import dev.tandem.orchestrator.http.HttpResponse;
import dev.tandem.orchestrator.http.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The HTTP edge: Tandem's {@link HttpServer} serving the OpenAI API and the health endpoints, with OpenAI error
 * JSON for every failure (no stack trace ever reaches a client). The only place where errors become HTTP statuses;
 * an error after a stream has begun becomes an SSE error event followed by {@code [DONE]}, never a silent end.
 */
public final class HttpFrontend implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(HttpFrontend.class.getName());

    private interface Route {
        void serve(HttpRequest req, Exchange ex) throws Exception;
    }

    /** The status page: static HTML and JavaScript, no external assets; it polls /status.json every second. */
    private static final byte[] STATUS_PAGE = statusPage();

    private static byte[] statusPage() {
        try (var in = HttpFrontend.class.getResourceAsStream("status.html")) {
            if (in == null) {
                throw new IllegalStateException("status.html is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private final OpenAiService service;
    private final Map<String, Map<String, Route>> routes = new LinkedHashMap<>();
    private HttpServer server;
    private volatile boolean draining;

    public HttpFrontend(OpenAiService service) {
        this.service = service;
        route("GET", "/v1/models", (req, ex) -> ex.json(200, service.models()));
        route("POST", "/v1/chat/completions", (req, ex) -> service.chat(ex.parse(req), ex));
        route("POST", "/v1/completions", (req, ex) -> service.completions(ex.parse(req), ex));
        route(
                "GET",
                "/metrics",
                (req, ex) -> ex.res.send(
                        200,
                        dev.tandem.orchestrator.metrics.TandemMetrics.contentType(),
                        service.metrics().scrape()));
        route("GET", "/health", (req, ex) -> health(ex));
        route("GET", "/status", (req, ex) -> ex.res.send(200, "text/html; charset=utf-8", STATUS_PAGE));
        route("GET", "/status.json", (req, ex) -> ex.json(200, service.status()));
        route("GET", "/live", (req, ex) -> ex.json(200, Json.object().put("status", "live")));
        route("GET", "/ready", (req, ex) -> ready(ex));
    }

    private void route(String method, String path, Route r) {
        routes.computeIfAbsent(path, p -> new LinkedHashMap<>()).put(method, r);
    }

    /** Starts listening; returns the bound port. */
    public int start() {
        FrontendConfig c = service.config();
        try {
            server = HttpServer.start(c.host(), c.port(), c.http(), this::handle, HttpFrontend::errorBody);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + c.host() + ":" + c.port(), e);
        }
        return server.port();
    }

    public int port() {
        return server.port();
    }

    /** The server's counters (client aborts, timeouts, protocol errors). */
    public HttpServer.Stats stats() {
        return server.stats();
    }

    private void handle(HttpRequest req, HttpResponse res) {
        Exchange ex = new Exchange(res);
        boolean api = req.path().startsWith("/v1/");
        long started = System.nanoTime();
        var metrics = service.metrics();
        if (api) {
            metrics.activeRequests.inc();
        }
        try {
            serve(req, ex);
        } finally {
            if (api) {
                metrics.activeRequests.dec();
                // Only served models name a series: a client cannot grow the label set with made-up names.
                String model = ex.model != null && service.pool().models().contains(ex.model) ? ex.model : "";
                metrics.requests
                        .labelValues(model, req.path(), ex.status == 0 ? "aborted" : String.valueOf(ex.status))
                        .inc();
                metrics.requestDuration.observe((System.nanoTime() - started) / 1e9);
            }
        }
    }

    private void serve(HttpRequest req, Exchange ex) {
        HttpResponse res = ex.res;
        try {
            ApiKeys keys = service.config().apiKeys();
            int key = -1; // the index of the request's accepted key (its identity for the rate limit)
            if (keys != null && keys.guards(req.path())) {
                String auth = req.headers().first("Authorization").orElse(null);
                key = keys.keyIndex(auth);
                if (key < 0) {
                    res.header("WWW-Authenticate", "Bearer");
                    // OpenAI's wording; the presented key is never echoed (it must not reach logs or clients)
                    throw new ApiException(
                            401,
                            "invalid_request_error",
                            auth == null
                                    ? "You didn't provide an API key. Provide it in an Authorization header"
                                            + " (Authorization: Bearer YOUR_KEY)."
                                    : "Incorrect API key provided.",
                            null,
                            "invalid_api_key");
                }
            }
            RateLimiter limit = service.config().rateLimit();
            if (limit != null && req.path().startsWith("/v1/")) {
                String client = keys == null ? "all" : "key-" + key;
                long wait = limit.acquire(client, System.nanoTime());
                if (wait > 0) {
                    service.metrics().rejections.labelValues("rate_limited").inc();
                    res.header("Retry-After", String.valueOf(wait));
                    throw new ApiException(
                            429,
                            "requests",
                            "Rate limit reached: at most " + limit.perSecond() + " requests per second; retry in "
                                    + wait + " s",
                            null,
                            "rate_limit_exceeded");
                }
            }
            Map<String, Route> byMethod = routes.get(req.path());
            if (byMethod == null) {
                throw new ApiException(
                        404,
                        "invalid_request_error",
                        "No route for " + req.method() + " " + req.path(),
                        null,
                        "not_found");
            }
            Route r = byMethod.get(req.method());
            if (r == null) {
                res.header("Allow", String.join(", ", byMethod.keySet()));
                throw new ApiException(
                        405,
                        "invalid_request_error",
                        "Method " + req.method() + " is not allowed on " + req.path(),
                        null,
                        "method_not_allowed");
            }
            r.serve(req, ex);
        } catch (ApiException e) {
            ex.fail(e);
        } catch (EngineException e) {
            if (e.kind() == EngineException.Kind.OVERLOADED) {
                service.metrics().rejections.labelValues("engine_overloaded").inc();
            }
            ex.fail(translate(e));
        } catch (UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, "client went away: {0}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ex.fail(ApiException.unavailable("The server is shutting down"));
        } catch (Exception e) {
            LOG.log(System.Logger.Level.ERROR, "request failed", e);
            ex.fail(new ApiException(500, "server_error", "Internal server error", null, null));
        }
    }

    private static ApiException translate(EngineException e) {
        return switch (e.kind()) {
            case INVALID_REQUEST -> ApiException.invalid(e.getMessage(), null);
            case OVERLOADED -> ApiException.overloaded(e.getMessage());
            case UNAVAILABLE -> ApiException.unavailable(e.getMessage());
            case INTERNAL -> new ApiException(500, "server_error", "Internal server error", null, null);
        };
    }

    private static byte[] errorBody(int status, String code, String message) {
        String type = status >= 500 ? "server_error" : "invalid_request_error";
        if (status == 503) {
            type = "service_unavailable_error";
        }
        return Json.bytes(Json.error(new ApiException(status, type, message, null, code)));
    }

    /** One request's response, as the service sees it. */
    private static final class Exchange implements OpenAiService.ResponseChannel {
        private final HttpResponse res;
        private SseWriter sse;
        /** The status answered (200 once a stream began, whatever happens later). */
        int status;
        /** The request's {@code model} field, for metrics. */
        String model;

        JsonNode parse(HttpRequest req) {
            JsonNode body = Json.parse(req.body());
            if (body.path("model").isTextual()) {
                model = body.path("model").asText();
            }
            return body;
        }

        Exchange(HttpResponse res) {
            this.res = res;
        }

        @Override
        public void header(String name, String value) {
            res.header(name, value);
        }

        @Override
        public void json(JsonNode body) {
            json(200, body);
        }

        void json(int status, JsonNode body) {
            this.status = status;
            res.send(status, "application/json", Json.bytes(body));
        }

        @Override
        public SseWriter startEvents() {
            res.header("Cache-Control", "no-cache");
            status = 200;
            sse = new SseWriter(res.stream(200, "text/event-stream; charset=utf-8"));
            return sse;
        }

        /** Answers an error: a status and an error body, or an error event and [DONE] once streaming. */
        void fail(ApiException e) {
            try {
                if (sse != null) {
                    sse.data(Json.text(Json.error(e)));
                    sse.done();
                    return;
                }
                if (res.committed()) {
                    LOG.log(System.Logger.Level.DEBUG, "error after the response was sent: {0}", e.getMessage());
                    return;
                }
                if (e.status() == 503) {
                    res.header("Retry-After", "1"); // a 429 carries its own (the rate limiter knows when)
                }
                json(e.status(), Json.error(e));
            } catch (UncheckedIOException gone) {
                LOG.log(System.Logger.Level.DEBUG, "could not send the error, the client left: {0}", e.getMessage());
            }
        }
    }

    private void health(Exchange ex) {
        ObjectNode o = Json.object();
        o.put("status", "healthy");
        o.put("workers", service.pool().size());
        ex.json(200, o);
    }

    private void ready(Exchange ex) {
        boolean ready = !draining && service.pool().size() > 0;
        ObjectNode o = Json.object();
        o.put("status", draining ? "draining" : ready ? "ready" : "no workers");
        ex.json(ready ? 200 : 503, o);
    }

    /**
     * A graceful stop (SIGTERM): {@code /ready} says 503, no new connection is taken, idle ones close, and the
     * requests in progress (streams too) finish for up to {@code timeout}. Returns whether all of them did.
     */
    public boolean drain(java.time.Duration timeout) throws InterruptedException {
        draining = true;
        return server == null || server.drain(timeout);
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
