package dev.tandem.adapters.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.http.SseParser;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import okhttp3.Call;
import okhttp3.Response;

/**
 * Reads one streamed completion from an upstream and turns its chunks into token deltas: the ids of
 * {@code choices[0].token_ids} (vLLM's {@code return_token_ids}), the upstream's text, then one final delta with the
 * finish reason and usage. A stream that breaks before its finish (the upstream died, the connection dropped) is an
 * UNAVAILABLE error, which the frontend answers by retrying or migrating elsewhere; a stream the frontend cancelled
 * ends with a CANCELLED final delta. Runs on its own virtual thread.
 */
final class UpstreamStream implements Runnable {

    private final Call call;
    private final int promptTokens;
    private final TokenListener listener;
    private final Runnable onEnd;
    private volatile boolean cancelled;
    private int generated;
    private String finish;
    private Usage usage;

    UpstreamStream(Call call, int promptTokens, TokenListener listener, Runnable onEnd) {
        this.call = call;
        this.promptTokens = promptTokens;
        this.listener = listener;
        this.onEnd = onEnd;
    }

    void cancel() {
        cancelled = true;
        call.cancel();
    }

    @Override
    public void run() {
        try (Response resp = call.execute()) {
            if (resp.code() != 200) {
                listener.onError(UpstreamError.of(resp.code(), resp.body().string()));
                return;
            }
            boolean done = read(resp);
            if (!done && finish == null) {
                throw new IOException("the upstream ended the stream without a finish reason or [DONE]");
            }
            listener.onDelta(TokenDelta.finished(new int[0], reason(), finalUsage()));
        } catch (EngineException e) {
            listener.onError(e);
        } catch (IOException | RuntimeException e) {
            if (cancelled) {
                listener.onDelta(TokenDelta.finished(new int[0], FinishReason.CANCELLED, finalUsage()));
            } else {
                listener.onError(new EngineException(
                        EngineException.Kind.UNAVAILABLE,
                        "upstream stream broke after " + generated + " tokens: " + e.getMessage(),
                        e));
            }
        } finally {
            onEnd.run();
        }
    }

    /** Reads events until [DONE] or the end of the body; returns whether [DONE] came. */
    private boolean read(Response resp) throws IOException {
        SseParser sse = new SseParser();
        char[] buf = new char[8192];
        try (Reader in = new InputStreamReader(resp.body().byteStream(), StandardCharsets.UTF_8)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                for (String event : sse.feed(new String(buf, 0, n))) {
                    if (event.equals("[DONE]")) {
                        return true;
                    }
                    chunk(UpstreamClient.JSON.readTree(event));
                }
            }
        }
        return false;
    }

    private void chunk(JsonNode c) {
        JsonNode error = c.get("error");
        if (error != null && !error.isNull()) {
            // vLLM reports a failure that happens after the stream began as an error event
            throw new EngineException(
                    EngineException.Kind.UNAVAILABLE,
                    "upstream error mid-stream: " + UpstreamError.message(c.toString()));
        }
        for (JsonNode choice : c.path("choices")) {
            JsonNode ids = choice.path("token_ids");
            int[] tokens = new int[ids.isArray() ? ids.size() : 0];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = ids.get(i).asInt();
            }
            // completions carry "text"; chat chunks a "delta" with "content"
            String text = choice.has("delta")
                    ? choice.path("delta").path("content").asText("")
                    : choice.path("text").asText("");
            if (tokens.length > 0 || !text.isEmpty()) {
                generated += tokens.length;
                listener.onDelta(new TokenDelta(tokens, null, null, null, text));
            }
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.get("finish_reason").asText();
            }
        }
        JsonNode u = c.get("usage");
        if (u != null && u.isObject()) {
            usage = new Usage(
                    u.path("prompt_tokens").asInt(promptTokens),
                    u.path("prompt_tokens_details").path("cached_tokens").asInt(0),
                    u.path("completion_tokens").asInt(generated));
        }
    }

    private FinishReason reason() {
        if (finish == null) {
            return FinishReason.STOP;
        }
        return switch (finish) {
            case "length" -> FinishReason.LENGTH;
            case "abort" -> FinishReason.CANCELLED;
            default -> FinishReason.STOP;
        };
    }

    private Usage finalUsage() {
        return usage != null ? usage : new Usage(promptTokens, 0, generated);
    }
}
