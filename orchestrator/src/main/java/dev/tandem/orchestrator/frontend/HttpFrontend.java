package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.EngineException;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The HTTP edge: Helidon SE on virtual threads serving the OpenAI API, health endpoints and OpenAI error JSON for
 * every failure (no stack trace ever reaches a client). The only place where errors become HTTP statuses.
 */
public final class HttpFrontend implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(HttpFrontend.class.getName());

    private final OpenAiService service;
    private final WebServer server;

    public HttpFrontend(OpenAiService service) {
        this.service = service;
        FrontendConfig config = service.config();
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownHook(false)
                .routing(this::routes)
                .build();
    }

    /** Starts listening; returns the bound port. */
    public int start() {
        server.start();
        return server.port();
    }

    public int port() {
        return server.port();
    }

    private void routes(HttpRouting.Builder r) {
        r.get("/v1/models", (req, res) -> handle(res, () -> sendJson(res, 200, service.models())))
                .post("/v1/chat/completions", (req, res) -> handle(res, () -> service.chat(body(req), channel(res))))
                .post("/v1/completions", (req, res) -> handle(res, () -> service.completions(body(req), channel(res))))
                .get("/health", (req, res) -> health(res))
                .get("/live", (req, res) -> sendJson(res, 200, Json.object().put("status", "live")))
                .get("/ready", (req, res) -> ready(res))
                .any((req, res) -> sendError(
                        res,
                        new ApiException(
                                404,
                                "invalid_request_error",
                                "No route for " + req.prologue().method().text() + " "
                                        + req.path().path(),
                                null,
                                "not_found")));
    }

    private interface Action {
        void run() throws Exception;
    }

    private void handle(ServerResponse res, Action action) {
        try {
            action.run();
        } catch (ApiException e) {
            sendError(res, e);
        } catch (EngineException e) {
            sendError(res, translate(e));
        } catch (UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, "client went away: {0}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sendError(res, ApiException.unavailable("The server is shutting down"));
        } catch (Exception e) {
            LOG.log(System.Logger.Level.ERROR, "request failed", e);
            sendError(res, new ApiException(500, "server_error", "Internal server error", null, null));
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

    private JsonNode body(ServerRequest req) {
        long limit = service.config().maxBodyBytes();
        var declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw tooLarge(limit);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        try (InputStream in = req.content().inputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (out.size() + n > limit) {
                    throw tooLarge(limit);
                }
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            throw ApiException.invalid("The request body could not be read", null);
        }
        return Json.parse(out.toByteArray());
    }

    private static ApiException tooLarge(long limit) {
        return new ApiException(
                413,
                "invalid_request_error",
                "The request body exceeds the limit of " + limit + " bytes",
                null,
                "request_too_large");
    }

    private static OpenAiService.ResponseChannel channel(ServerResponse res) {
        return new OpenAiService.ResponseChannel() {
            @Override
            public void header(String name, String value) {
                res.header(name, value);
            }

            @Override
            public void json(JsonNode body) {
                sendJson(res, 200, body);
            }

            @Override
            public SseWriter startEvents() {
                res.status(Status.OK_200);
                res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8"));
                res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-cache"));
                return new SseWriter(res.outputStream());
            }
        };
    }

    private void health(ServerResponse res) {
        ObjectNode o = Json.object();
        o.put("status", "healthy");
        o.put("workers", service.pool().size());
        sendJson(res, 200, o);
    }

    private void ready(ServerResponse res) {
        boolean ready = service.pool().size() > 0;
        ObjectNode o = Json.object();
        o.put("status", ready ? "ready" : "no workers");
        sendJson(res, ready ? 200 : 503, o);
    }

    private static void sendJson(ServerResponse res, int status, JsonNode body) {
        res.status(status);
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(Json.bytes(body));
    }

    private static void sendError(ServerResponse res, ApiException e) {
        if (res.isSent()) {
            LOG.log(System.Logger.Level.DEBUG, "error after the response started: {0}", e.getMessage());
            return;
        }
        if (e.status() == 503) {
            res.header("Retry-After", "1");
        }
        try {
            sendJson(res, e.status(), Json.error(e));
        } catch (RuntimeException sendFailure) {
            LOG.log(System.Logger.Level.DEBUG, "could not send the error: {0}", sendFailure.getMessage());
        }
    }

    @Override
    public void close() {
        server.stop();
    }
}
