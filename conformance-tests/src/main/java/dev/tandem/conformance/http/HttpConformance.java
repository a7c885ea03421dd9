package dev.tandem.conformance.http;

import static dev.tandem.conformance.http.CaseFailed.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The HTTP TCK: what a client of the OpenAI API relies on, checked against any OpenAI-compatible base URL (one
 * ending in {@code /v1}). Each case is independent and named {@code area.what}; a case fails with what it expected
 * and what came, and is skipped only when the server declines an optional feature (logprobs) with a 4xx error. The
 * cases use greedy decoding (temperature 0) wherever they compare two answers, so any deterministic server passes.
 */
public final class HttpConformance {

    private static final Set<String> FINISH = Set.of("stop", "length");
    private static final String PROMPT = "The quick brown fox";
    private static final String CHAT = "/chat/completions";
    private static final String COMPLETIONS = "/completions";

    private interface Case {
        void run() throws Exception;
    }

    private final OpenAiHttpClient client;
    private final String requestedModel;
    private String model;
    private JsonNode greedy;

    /**
     * @param baseUrl the API's base URL, e.g. {@code http://127.0.0.1:8000/v1}
     * @param model the model to test, or null for the first one {@code /models} lists
     */
    public HttpConformance(String baseUrl, String model, Duration timeout) {
        this.client = new OpenAiHttpClient(baseUrl, timeout);
        this.requestedModel = model;
    }

    /** Runs every case in order; never throws for a server's behaviour. */
    public List<CaseResult> run() {
        Map<String, Case> cases = new LinkedHashMap<>();
        cases.put("models.list", this::modelsList);
        cases.put("completions.basic", this::completionsBasic);
        cases.put("completions.max_tokens", this::completionsMaxTokens);
        cases.put("completions.token_ids_prompt", this::completionsTokenIds);
        cases.put("completions.batch_prompts", this::completionsBatch);
        cases.put("completions.greedy_repeatable", this::completionsGreedyRepeatable);
        cases.put("completions.seeded_sampling_repeatable", this::completionsSeeded);
        cases.put("completions.stop_string", this::completionsStop);
        cases.put("completions.stream_framing", this::completionsStreamFraming);
        cases.put("completions.stream_matches_whole", this::completionsStreamMatchesWhole);
        cases.put("completions.stream_include_usage", () -> streamIncludeUsage(COMPLETIONS, completionBody(8)));
        cases.put("completions.stream_no_usage_unasked", this::completionsStreamNoUsage);
        cases.put("chat.basic", this::chatBasic);
        cases.put("chat.max_completion_tokens", this::chatMaxCompletionTokens);
        cases.put("chat.stream", this::chatStream);
        cases.put("chat.stream_include_usage", () -> streamIncludeUsage(CHAT, chatBody(6)));
        cases.put("logprobs.completions", this::logprobsCompletions);
        cases.put("logprobs.chat", this::logprobsChat);
        cases.put("errors.unknown_model", this::errorsUnknownModel);
        cases.put("errors.malformed_json", () -> expectError(client.postRaw(COMPLETIONS, "{\"model\": \"x\",")));
        cases.put("errors.invalid_max_tokens", () -> expectError(client.post(COMPLETIONS, completionBody(-1))));
        cases.put("errors.missing_messages", this::errorsMissingMessages);
        cases.put("errors.context_length_exceeded", this::errorsContextLength);
        List<CaseResult> out = new ArrayList<>();
        for (Map.Entry<String, Case> c : cases.entrySet()) {
            out.add(runOne(c.getKey(), c.getValue()));
        }
        return out;
    }

    private CaseResult runOne(String name, Case c) {
        long t0 = System.nanoTime();
        CaseResult.Outcome outcome;
        String detail = "";
        try {
            if (!name.equals("models.list")) {
                resolveModel();
            }
            c.run();
            outcome = CaseResult.Outcome.PASSED;
        } catch (CaseSkipped e) {
            outcome = CaseResult.Outcome.SKIPPED;
            detail = e.getMessage();
        } catch (CaseFailed e) {
            outcome = CaseResult.Outcome.FAILED;
            detail = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outcome = CaseResult.Outcome.FAILED;
            detail = "interrupted";
        } catch (Exception e) {
            outcome = CaseResult.Outcome.FAILED;
            detail = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        return new CaseResult(name, outcome, detail, (System.nanoTime() - t0) / 1_000_000);
    }

    private void resolveModel() throws Exception {
        if (model != null) {
            return;
        }
        if (requestedModel != null) {
            model = requestedModel;
            return;
        }
        OpenAiHttpClient.Reply r = client.get("/models");
        JsonNode first = r.json() == null ? null : r.json().path("data").path(0).get("id");
        check(first != null && first.isTextual(), "GET /models names no model to test (status %d)", r.status());
        model = first.asText();
    }

    // -- request bodies --------------------------------------------------------------------------------------------

    private ObjectNode completionBody(int maxTokens) {
        ObjectNode b = OpenAiHttpClient.JSON.createObjectNode();
        b.put("model", model);
        b.put("prompt", PROMPT);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        return b;
    }

    private ObjectNode chatBody(int maxTokens) {
        ObjectNode b = OpenAiHttpClient.JSON.createObjectNode();
        b.put("model", model);
        ObjectNode m = b.putArray("messages").addObject();
        m.put("role", "user");
        m.put("content", "Say something about tandem bicycles.");
        b.put("max_completion_tokens", maxTokens);
        b.put("temperature", 0);
        return b;
    }

    private static ObjectNode streaming(ObjectNode body, boolean includeUsage) {
        ObjectNode b = body.deepCopy();
        b.put("stream", true);
        if (includeUsage) {
            b.putObject("stream_options").put("include_usage", true);
        }
        return b;
    }

    // -- shared expectations ---------------------------------------------------------------------------------------

    private static JsonNode ok(OpenAiHttpClient.Reply r) {
        check(r.status() == 200, "expected 200, got %d: %s", r.status(), clip(r.body()));
        check(r.json() != null && r.json().isObject(), "expected a JSON object, got: %s", clip(r.body()));
        return r.json();
    }

    private static void usage(JsonNode u, String where) {
        check(u != null && u.isObject(), "%s: no usage object", where);
        int p = u.path("prompt_tokens").asInt(-1);
        int c = u.path("completion_tokens").asInt(-1);
        int t = u.path("total_tokens").asInt(-1);
        check(p > 0 && c >= 0, "%s: usage needs prompt_tokens > 0 and completion_tokens >= 0: %s", where, u);
        check(t == p + c, "%s: total_tokens %d != prompt_tokens %d + completion_tokens %d", where, t, p, c);
    }

    private static String finish(JsonNode choice, String where) {
        String f = choice.path("finish_reason").asText(null);
        check(f != null && FINISH.contains(f), "%s: finish_reason must be stop or length, got %s", where, f);
        return f;
    }

    private static void expectError(OpenAiHttpClient.Reply r) {
        check(r.status() >= 400 && r.status() < 500, "expected a 4xx, got %d: %s", r.status(), clip(r.body()));
        JsonNode e = r.json() == null ? null : r.json().get("error");
        check(
                e != null
                        && e.isObject()
                        && e.path("message").isTextual()
                        && !e.path("message").asText().isBlank(),
                "expected an OpenAI error object {\"error\":{\"message\":...}}, got: %s",
                clip(r.body()));
    }

    static String clip(String s) {
        if (s == null) {
            return "null";
        }
        String one = s.replace("\r", "\\r").replace("\n", "\\n");
        return one.length() > 160 ? one.substring(0, 160) + "..." : one;
    }

    /** The greedy answer to {@code completionBody(16)}, computed once. */
    private JsonNode greedy() throws Exception {
        if (greedy == null) {
            greedy = ok(client.post(COMPLETIONS, completionBody(16)));
        }
        return greedy;
    }

    /** The chunks of a stream (JSON objects), checked for framing: JSON events, then exactly one [DONE], last. */
    private List<JsonNode> chunks(OpenAiHttpClient.Streamed s, String object) throws Exception {
        check(s.status() == 200, "expected 200, got %d: %s", s.status(), clip(s.body()));
        check(
                s.contentType().startsWith("text/event-stream"),
                "expected Content-Type text/event-stream, got %s",
                s.contentType());
        check(
                s.done(),
                "the stream did not end with data: [DONE] (last event: %s)",
                s.events().isEmpty() ? "none" : clip(s.events().getLast()));
        List<JsonNode> out = new ArrayList<>();
        for (String e : s.events().subList(0, s.events().size() - 1)) {
            check(!e.equals("[DONE]"), "[DONE] came before the end of the stream");
            JsonNode j;
            try {
                j = OpenAiHttpClient.JSON.readTree(e);
            } catch (Exception bad) {
                throw new CaseFailed("an event is not JSON: " + clip(e));
            }
            check(j.isObject(), "an event is not a JSON object: %s", clip(e));
            check(j.path("error").isMissingNode(), "the stream carried an error: %s", clip(e));
            check(object.equals(j.path("object").asText()), "chunk object must be %s: %s", object, clip(e));
            out.add(j);
        }
        check(!out.isEmpty(), "the stream carried no chunk");
        return out;
    }

    /** Joined text of completion chunks (or chat deltas) and the last non-null finish reason. */
    private static String[] joined(List<JsonNode> chunks, boolean chat) {
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode c : chunks) {
            for (JsonNode ch : c.path("choices")) {
                text.append(
                        chat
                                ? ch.path("delta").path("content").asText("")
                                : ch.path("text").asText(""));
                if (ch.hasNonNull("finish_reason")) {
                    finish = ch.get("finish_reason").asText();
                }
            }
        }
        return new String[] {text.toString(), finish};
    }

    // -- cases -----------------------------------------------------------------------------------------------------

    private void modelsList() throws Exception {
        JsonNode j = ok(client.get("/models"));
        check("list".equals(j.path("object").asText()), "object must be \"list\": %s", clip(j.toString()));
        JsonNode data = j.path("data");
        check(data.isArray() && !data.isEmpty(), "data must be a non-empty array: %s", clip(j.toString()));
        boolean found = requestedModel == null;
        for (JsonNode m : data) {
            check(m.path("id").isTextual(), "a model without an id: %s", m);
            check("model".equals(m.path("object").asText()), "a model's object must be \"model\": %s", m);
            found |= m.path("id").asText().equals(requestedModel);
        }
        check(found, "the model %s is not listed", requestedModel);
    }

    private void completionsBasic() throws Exception {
        JsonNode j = ok(client.post(COMPLETIONS, completionBody(8)));
        check(
                "text_completion".equals(j.path("object").asText()),
                "object must be text_completion: %s",
                clip(j.toString()));
        check(j.path("id").isTextual(), "no id");
        check(j.path("created").isNumber(), "no created timestamp");
        JsonNode c = j.path("choices").path(0);
        check(c.path("text").isTextual(), "choices[0].text must be a string: %s", clip(j.toString()));
        check(c.path("index").asInt(-1) == 0, "choices[0].index must be 0");
        finish(c, "choices[0]");
        usage(j.get("usage"), "usage");
        check(j.path("usage").path("completion_tokens").asInt() <= 8, "more than max_tokens=8 completion tokens");
    }

    private void completionsMaxTokens() throws Exception {
        JsonNode j = ok(client.post(COMPLETIONS, completionBody(3)));
        int n = j.path("usage").path("completion_tokens").asInt(-1);
        check(n >= 0 && n <= 3, "max_tokens=3 but completion_tokens=%d", n);
        String f = finish(j.path("choices").path(0), "choices[0]");
        check(!f.equals("length") || n == 3, "finish_reason length with %d of max_tokens=3 tokens", n);
    }

    private void completionsTokenIds() throws Exception {
        ObjectNode b = completionBody(4);
        ArrayNode ids = b.putArray("prompt");
        for (int id : new int[] {72, 101, 108, 108, 111}) {
            ids.add(id);
        }
        JsonNode j = ok(client.post(COMPLETIONS, b));
        check(
                j.path("usage").path("prompt_tokens").asInt() == 5,
                "a 5-id prompt counted as %s prompt tokens",
                j.path("usage").path("prompt_tokens"));
        finish(j.path("choices").path(0), "choices[0]");
    }

    private void completionsBatch() throws Exception {
        ObjectNode b = completionBody(3);
        b.putArray("prompt").add("First prompt").add("Second prompt");
        JsonNode j = ok(client.post(COMPLETIONS, b));
        JsonNode choices = j.path("choices");
        check(choices.size() == 2, "two prompts must give two choices, got %d", choices.size());
        check(
                choices.path(0).path("index").asInt(-1)
                                + choices.path(1).path("index").asInt(-1)
                        == 1,
                "choice indexes must be 0 and 1");
        usage(j.get("usage"), "usage");
    }

    private void completionsGreedyRepeatable() throws Exception {
        String a = greedy().path("choices").path(0).path("text").asText();
        String b = ok(client.post(COMPLETIONS, completionBody(16)))
                .path("choices")
                .path(0)
                .path("text")
                .asText();
        check(a.equals(b), "temperature 0 gave two answers: '%s' and '%s'", clip(a), clip(b));
    }

    private void completionsSeeded() throws Exception {
        ObjectNode b = completionBody(8);
        b.put("temperature", 1.0);
        b.put("seed", 1234);
        String a = ok(client.post(COMPLETIONS, b))
                .path("choices")
                .path(0)
                .path("text")
                .asText();
        String c = ok(client.post(COMPLETIONS, b))
                .path("choices")
                .path(0)
                .path("text")
                .asText();
        check(a.equals(c), "the same seed gave two answers: '%s' and '%s'", clip(a), clip(c));
    }

    private void completionsStop() throws Exception {
        String full = greedy().path("choices").path(0).path("text").asText();
        int cps = full.codePointCount(0, full.length());
        if (cps < 3) {
            throw new CaseSkipped("the greedy answer ('" + clip(full) + "') is too short to cut with a stop string");
        }
        int from = full.offsetByCodePoints(0, cps / 2);
        String stop = full.substring(from, full.offsetByCodePoints(from, 1));
        String expected = full.substring(0, full.indexOf(stop));
        ObjectNode b = completionBody(16);
        b.putArray("stop").add(stop);
        JsonNode j = ok(client.post(COMPLETIONS, b));
        JsonNode c = j.path("choices").path(0);
        check(
                c.path("text").asText().equals(expected),
                "stop '%s' on '%s' must give '%s', got '%s'",
                clip(stop),
                clip(full),
                clip(expected),
                clip(c.path("text").asText()));
        check(
                "stop".equals(c.path("finish_reason").asText()),
                "finish_reason must be stop, got %s",
                c.path("finish_reason"));
    }

    private void completionsStreamFraming() throws Exception {
        List<JsonNode> chunks =
                chunks(client.stream(COMPLETIONS, streaming(completionBody(8), false)), "text_completion");
        String id = chunks.getFirst().path("id").asText(null);
        check(id != null, "chunks must carry an id");
        for (JsonNode c : chunks) {
            check(id.equals(c.path("id").asText()), "all chunks of one stream share one id");
        }
        check(joined(chunks, false)[1] != null, "no chunk carried a finish_reason");
    }

    private void completionsStreamMatchesWhole() throws Exception {
        JsonNode whole = greedy().path("choices").path(0);
        String[] s = joined(
                chunks(client.stream(COMPLETIONS, streaming(completionBody(16), false)), "text_completion"), false);
        check(
                s[0].equals(whole.path("text").asText()),
                "streamed text '%s' differs from the whole answer '%s'",
                clip(s[0]),
                clip(whole.path("text").asText()));
        check(
                whole.path("finish_reason").asText().equals(s[1]),
                "streamed finish_reason %s, whole %s",
                s[1],
                whole.path("finish_reason"));
    }

    private void streamIncludeUsage(String path, ObjectNode body) throws Exception {
        String object = path.equals(CHAT) ? "chat.completion.chunk" : "text_completion";
        List<JsonNode> chunks = chunks(client.stream(path, streaming(body, true)), object);
        JsonNode last = chunks.getLast();
        check(
                last.path("choices").isArray() && last.path("choices").isEmpty(),
                "with include_usage the last chunk before [DONE] has \"choices\": [], got %s",
                clip(last.toString()));
        usage(last.get("usage"), "the usage chunk");
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            check(
                    !c.hasNonNull("usage") || c.path("usage").isNull(),
                    "usage must come once, last: %s",
                    clip(c.toString()));
        }
        int max = body.has("max_tokens")
                ? body.get("max_tokens").asInt()
                : body.get("max_completion_tokens").asInt();
        check(last.path("usage").path("completion_tokens").asInt() <= max, "usage exceeds the token budget");
    }

    private void completionsStreamNoUsage() throws Exception {
        List<JsonNode> chunks =
                chunks(client.stream(COMPLETIONS, streaming(completionBody(4), false)), "text_completion");
        for (JsonNode c : chunks) {
            check(!c.hasNonNull("usage"), "usage sent without stream_options.include_usage: %s", clip(c.toString()));
        }
    }

    private void chatBasic() throws Exception {
        JsonNode j = ok(client.post(CHAT, chatBody(8)));
        check(
                "chat.completion".equals(j.path("object").asText()),
                "object must be chat.completion: %s",
                clip(j.toString()));
        JsonNode c = j.path("choices").path(0);
        check("assistant".equals(c.path("message").path("role").asText()), "message.role must be assistant");
        check(c.path("message").path("content").isTextual(), "message.content must be a string");
        finish(c, "choices[0]");
        usage(j.get("usage"), "usage");
    }

    private void chatMaxCompletionTokens() throws Exception {
        JsonNode j = ok(client.post(CHAT, chatBody(3)));
        int n = j.path("usage").path("completion_tokens").asInt(-1);
        check(n >= 0 && n <= 3, "max_completion_tokens=3 but completion_tokens=%d", n);
    }

    private void chatStream() throws Exception {
        JsonNode whole = ok(client.post(CHAT, chatBody(8))).path("choices").path(0);
        List<JsonNode> chunks = chunks(client.stream(CHAT, streaming(chatBody(8), false)), "chat.completion.chunk");
        JsonNode first = chunks.getFirst().path("choices").path(0);
        check(
                "assistant".equals(first.path("delta").path("role").asText()),
                "the first chunk's delta must carry role assistant: %s",
                clip(chunks.getFirst().toString()));
        String[] s = joined(chunks, true);
        String content = whole.path("message").path("content").asText();
        check(
                s[0].equals(content),
                "streamed content '%s' differs from the whole answer '%s'",
                clip(s[0]),
                clip(content));
        check(s[1] != null && FINISH.contains(s[1]), "no valid finish_reason in the stream: %s", s[1]);
    }

    private void logprobsCompletions() throws Exception {
        ObjectNode b = completionBody(4);
        b.put("logprobs", 2);
        OpenAiHttpClient.Reply r = client.post(COMPLETIONS, b);
        declined(r, "logprobs");
        JsonNode j = ok(r);
        JsonNode lp = j.path("choices").path(0).path("logprobs");
        int n = j.path("usage").path("completion_tokens").asInt();
        check(
                lp.path("tokens").isArray() && lp.path("tokens").size() == n,
                "logprobs.tokens must list the %d completion tokens: %s",
                n,
                clip(lp.toString()));
        check(lp.path("token_logprobs").size() == n, "logprobs.token_logprobs must have %d entries", n);
        for (JsonNode v : lp.path("token_logprobs")) {
            check(v.isNumber() && v.asDouble() <= 1e-6, "a log-probability must be a number <= 0: %s", v);
        }
        check(lp.path("top_logprobs").size() == n, "logprobs.top_logprobs must have %d entries", n);
        for (JsonNode top : lp.path("top_logprobs")) {
            check(top.isObject() && !top.isEmpty(), "each top_logprobs entry maps tokens to log-probabilities");
        }
    }

    private void logprobsChat() throws Exception {
        ObjectNode b = chatBody(4);
        b.put("logprobs", true);
        b.put("top_logprobs", 2);
        OpenAiHttpClient.Reply r = client.post(CHAT, b);
        declined(r, "logprobs");
        JsonNode j = ok(r);
        JsonNode content = j.path("choices").path(0).path("logprobs").path("content");
        int n = j.path("usage").path("completion_tokens").asInt();
        check(
                content.isArray() && content.size() == n,
                "logprobs.content must have one entry per token (%d): %s",
                n,
                clip(j.path("choices").path(0).path("logprobs").toString()));
        for (JsonNode e : content) {
            check(e.path("token").isTextual(), "each entry has a token");
            check(e.path("logprob").isNumber() && e.path("logprob").asDouble() <= 1e-6, "logprob must be <= 0");
            check(
                    e.path("top_logprobs").isArray() && e.path("top_logprobs").size() <= 2,
                    "top_logprobs must list at most 2 alternatives");
        }
    }

    /** An optional feature declined with a 4xx error object is a skip; any other refusal is a failure. */
    private static void declined(OpenAiHttpClient.Reply r, String feature) {
        if (r.status() >= 400 && r.status() < 500) {
            expectError(r);
            throw new CaseSkipped(feature + " declined: "
                    + clip(r.json().path("error").path("message").asText()));
        }
    }

    private void errorsUnknownModel() throws Exception {
        ObjectNode b = completionBody(2);
        b.put("model", "no-such-model-" + Long.toHexString(System.nanoTime()));
        OpenAiHttpClient.Reply r = client.post(COMPLETIONS, b);
        expectError(r);
        check(r.status() == 404 || r.status() == 400, "an unknown model is a 404 (or 400), got %d", r.status());
    }

    private void errorsMissingMessages() throws Exception {
        ObjectNode b = chatBody(2);
        b.remove("messages");
        expectError(client.post(CHAT, b));
    }

    private void errorsContextLength() throws Exception {
        OpenAiHttpClient.Reply r = client.post(COMPLETIONS, completionBody(1_000_000_000));
        expectError(r);
        check(r.status() == 400, "a budget beyond the context is a 400, got %d", r.status());
    }
}
