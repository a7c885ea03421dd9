package dev.tandem.conformance.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.http.SseParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The suite's view of a server: JSON requests over one kept-alive HTTP/1.1 client (as OpenAI SDKs connect), and
 * streamed responses parsed into SSE events by {@link SseParser}. Thread-safe.
 */
final class OpenAiHttpClient {

    static final ObjectMapper JSON = new ObjectMapper();

    /** A whole response; {@code json} is null when the body is not JSON. */
    record Reply(int status, String contentType, String body, JsonNode json) {}

    /** A streamed response: its SSE data payloads in order, and whether {@code [DONE]} came last. */
    record Streamed(int status, String contentType, List<String> events, boolean done, String body) {}

    private final String base;
    private final Duration timeout;
    private final HttpClient http;

    OpenAiHttpClient(String base, Duration timeout) {
        this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    Reply get(String path) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(timeout)
                .GET()
                .build();
        return reply(http.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)));
    }

    Reply post(String path, Object body) throws IOException, InterruptedException {
        return postRaw(path, body instanceof String s ? s : JSON.writeValueAsString(body));
    }

    Reply postRaw(String path, String body) throws IOException, InterruptedException {
        return reply(http.send(request(path, body), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)));
    }

    Streamed stream(String path, Object body) throws IOException, InterruptedException {
        HttpResponse<InputStream> r =
                http.send(request(path, JSON.writeValueAsString(body)), HttpResponse.BodyHandlers.ofInputStream());
        String type = r.headers().firstValue("content-type").orElse("");
        SseParser parser = new SseParser();
        List<String> events = new ArrayList<>();
        StringBuilder raw = new StringBuilder();
        try (Reader in = new InputStreamReader(r.body(), StandardCharsets.UTF_8)) {
            char[] buf = new char[4096];
            int n;
            while ((n = in.read(buf)) > 0) {
                String piece = new String(buf, 0, n);
                if (raw.length() < 1 << 20) {
                    raw.append(piece);
                }
                events.addAll(parser.feed(piece));
            }
        }
        events.addAll(parser.feed("\n\n")); // a last event the server did not terminate still counts as sent
        boolean done = !events.isEmpty() && events.getLast().equals("[DONE]");
        return new Streamed(r.statusCode(), type, events, done, raw.toString());
    }

    private HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(URI.create(base + path))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
    }

    private static Reply reply(HttpResponse<String> r) {
        JsonNode json;
        try {
            json = JSON.readTree(r.body());
        } catch (IOException e) {
            json = null;
        }
        return new Reply(r.statusCode(), r.headers().firstValue("content-type").orElse(""), r.body(), json);
    }
}
