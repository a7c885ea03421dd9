package dev.tandem.adapters.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.engine.EngineException;
import java.io.IOException;
import java.time.Duration;
import okhttp3.Call;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * HTTP to one OpenAI-compatible upstream, on OkHttp: one client per upstream with a keep-alive pool (and HTTP/2
 * where the upstream offers it over TLS). Streams have no overall deadline (a long generation is legitimate) but a
 * per-read timeout, so a dead upstream cannot hold a request forever. Thread-safe.
 */
final class UpstreamClient implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType JSON_TYPE = MediaType.get("application/json");

    /** The model an upstream serves. */
    record Model(String id, int maxModelLen) {}

    private final String base;
    private final String apiKey;
    private final OkHttpClient http;

    UpstreamClient(String base, String apiKey, Duration readTimeout) {
        this.base = base;
        this.apiKey = apiKey;
        this.http = new OkHttpClient.Builder()
                .connectTimeout(Duration.ofSeconds(10))
                .readTimeout(readTimeout)
                // OkHttp retries a request whose pooled connection turns out dead before an answer began (the
                // upstream restarted on the same port); failures after that are the frontend's to retry or migrate.
                .retryOnConnectionFailure(true)
                .build();
    }

    String base() {
        return base;
    }

    /** The upstream's model {@code wanted}, or its first when null; fails when the upstream does not answer. */
    Model model(String wanted) {
        Request.Builder r = new Request.Builder().url(base + "/models").get();
        authorize(r);
        try (Response resp = http.newCall(r.build()).execute()) {
            String body = resp.body().string();
            if (resp.code() != 200) {
                throw UpstreamError.of(resp.code(), body);
            }
            JsonNode data = JSON.readTree(body).path("data");
            for (JsonNode m : data) {
                String id = m.path("id").asText(null);
                if (id != null && (wanted == null || wanted.equals(id))) {
                    return new Model(id, m.path("max_model_len").asInt(0));
                }
            }
            throw new EngineException(
                    EngineException.Kind.INVALID_REQUEST,
                    "upstream " + base + " serves no model" + (wanted == null ? "" : " named " + wanted));
        } catch (IOException e) {
            throw new EngineException(
                    EngineException.Kind.UNAVAILABLE, "upstream " + base + " is unreachable: " + e.getMessage(), e);
        }
    }

    /** A streamed completion ({@code /completions}) or chat ({@code /chat/completions}) call, not yet started. */
    Call completion(JsonNode body, boolean chat) {
        Request.Builder r = new Request.Builder()
                .url(base + (chat ? "/chat/completions" : "/completions"))
                .header("Accept", "text/event-stream")
                .post(RequestBody.create(body.toString(), JSON_TYPE));
        authorize(r);
        return http.newCall(r.build());
    }

    private void authorize(Request.Builder r) {
        if (apiKey != null) {
            r.header("Authorization", "Bearer " + apiKey);
        }
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}
