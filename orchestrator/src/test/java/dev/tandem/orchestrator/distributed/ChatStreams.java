package dev.tandem.orchestrator.distributed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.stream.Stream;

/**
 * A raw HTTP client of a frontend's streamed chat completions (server-sent events), greedy (temperature 0) and of
 * a fixed length ({@code ignore_eos}), so that a run is comparable token for token with any other run of the same
 * prompt.
 */
final class ChatStreams {

    static final String MODEL = "tandem-demo";
    static final String WORKER_HEADER = "x-tandem-worker-id";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private ChatStreams() {}

    /** Told of each content chunk: the worker header of the response and the number of chunks so far. */
    @FunctionalInterface
    interface Progress {
        void chunk(String worker, int chunks);
    }

    /**
     * What a client saw of one streamed chat completion.
     *
     * @param status the HTTP status (0 when the request failed below HTTP)
     * @param worker the {@code x-tandem-worker-id} header
     * @param done whether the stream ended with {@code data: [DONE]}
     * @param error an error chunk, a non-200 body or the exception; null when none
     */
    record Streamed(
            int status,
            String worker,
            String text,
            long completionTokens,
            long cachedTokens,
            String finishReason,
            boolean done,
            String error) {

        /** Whether the stream completed normally: 200, no error, a finish reason, usage and [DONE]. */
        boolean ok() {
            return status == 200 && error == null && done && finishReason != null && completionTokens > 0;
        }

        /** Whether {@code other} carries exactly the same output. */
        boolean sameOutputAs(Streamed other) {
            return text.equals(other.text)
                    && completionTokens == other.completionTokens
                    && finishReason.equals(other.finishReason);
        }
    }

    /** Streams a chat completion of {@code prompt}, telling {@code progress} of each content chunk. */
    static Streamed chat(int port, String prompt, int maxTokens, Progress progress) {
        ObjectNode body = JSON.createObjectNode()
                .put("model", MODEL)
                .put("max_tokens", maxTokens)
                .put("temperature", 0)
                .put("ignore_eos", true)
                .put("stream", true);
        body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        body.putObject("stream_options").put("include_usage", true);
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
        int status = 0;
        String worker = null;
        StringBuilder text = new StringBuilder();
        long completion = 0;
        long cached = 0;
        String finish = null;
        boolean done = false;
        String error = null;
        try {
            HttpResponse<Stream<String>> r = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
            status = r.statusCode();
            worker = r.headers().firstValue(WORKER_HEADER).orElse(null);
            try (Stream<String> lines = r.body()) {
                if (status != 200) {
                    error = String.join("\n", lines.toList());
                } else {
                    int chunks = 0;
                    Iterator<String> it = lines.iterator();
                    while (it.hasNext()) {
                        String line = it.next();
                        if (!line.startsWith("data: ")) {
                            continue;
                        }
                        String data = line.substring(6);
                        if (data.equals("[DONE]")) {
                            done = true;
                            break;
                        }
                        JsonNode j = JSON.readTree(data);
                        if (j.has("error")) {
                            error = data;
                            continue;
                        }
                        for (JsonNode choice : j.path("choices")) {
                            String piece = choice.path("delta").path("content").asText("");
                            if (!piece.isEmpty()) {
                                text.append(piece);
                                progress.chunk(worker, ++chunks);
                            }
                            if (!choice.path("finish_reason").isNull()
                                    && !choice.path("finish_reason").isMissingNode()) {
                                finish = choice.path("finish_reason").asText();
                            }
                        }
                        JsonNode usage = j.path("usage");
                        if (usage.isObject()) {
                            completion = usage.path("completion_tokens").asLong();
                            cached = usage.path("prompt_tokens_details")
                                    .path("cached_tokens")
                                    .asLong();
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            error = e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error = e.toString();
        }
        return new Streamed(status, worker, text.toString(), completion, cached, finish, done, error);
    }

    static Streamed chat(int port, String prompt, int maxTokens) {
        return chat(port, prompt, maxTokens, (w, n) -> {});
    }

    /** GET {@code path} on the frontend: status and body (status 0 when it does not answer). */
    static Get get(int port, String path) {
        try {
            HttpResponse<String> r = HTTP.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                            .timeout(Duration.ofSeconds(5))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Get(r.statusCode(), r.body());
        } catch (IOException e) {
            return new Get(0, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Get(0, e.toString());
        }
    }

    record Get(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new IllegalStateException("not JSON: " + body, e);
            }
        }
    }
}
