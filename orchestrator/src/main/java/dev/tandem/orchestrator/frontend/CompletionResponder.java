package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.api.engine.Usage;
import dev.tandem.orchestrator.preprocess.ModelFrontend;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs a text completion of one or several prompts (choice {@code index} = prompt index, generated concurrently)
 * and renders it as {@code text_completion} objects.
 */
final class CompletionResponder {

    private final OpenAiService service;
    private final GenerationSpec spec;
    private final ModelFrontend model;
    private final List<PromptInput> prompts;
    private final String id = "cmpl-" + OpenAiService.newId();
    private final long created = Instant.now().getEpochSecond();

    CompletionResponder(OpenAiService service, GenerationSpec spec, ModelFrontend model, List<PromptInput> prompts) {
        this.service = service;
        this.spec = spec;
        this.model = model;
        this.prompts = prompts;
    }

    /** One prompt's accumulated result. */
    private static final class Result {
        final StringBuilder text = new StringBuilder();
        final List<Integer> ids = new ArrayList<>();
        ObjectNode logprobs;
        FinishReason reason;
        Usage usage;
    }

    void respond(OpenAiService.ResponseChannel channel) throws InterruptedException {
        List<GenerationCall> calls = new ArrayList<>();
        try {
            for (PromptInput p : prompts) {
                GenerationCall call = service.call(spec, model, p);
                String worker = call.start();
                if (calls.isEmpty()) {
                    OpenAiService.routingHeaders(channel, call, worker);
                }
                calls.add(call);
            }
        } catch (RuntimeException e) {
            // Started calls must not run on unobserved: await them with an observer that stops at once.
            for (GenerationCall c : calls) {
                cancel(c);
            }
            throw e;
        }
        SseWriter sse = spec.stream() ? channel.startEvents() : null;
        List<Result> results = new ArrayList<>();
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < calls.size(); i++) {
                Result r = new Result();
                results.add(r);
                int index = i;
                GenerationCall call = calls.get(i);
                futures.add(exec.submit(() -> {
                    call.await(observer(index, r, sse));
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (ExecutionException e) {
            if (sse == null) {
                throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
            }
            if (e.getCause() instanceof ApiException ae) {
                sse.data(Json.text(Json.error(ae)));
            } else {
                throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
            }
        }
        Usage total = OpenAiService.sum(results.stream()
                .map(r -> r.usage == null ? new Usage(0, 0, 0) : r.usage)
                .toList());
        if (sse != null) {
            if (spec.includeUsage()) {
                ObjectNode uc = header();
                uc.putArray("choices");
                uc.set("usage", OpenAiService.usage(total));
                sse.data(Json.text(uc));
            }
            sse.done();
            return;
        }
        ObjectNode root = header();
        ArrayNode choices = root.putArray("choices");
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            ObjectNode c = choices.addObject();
            c.put("index", i);
            c.put("text", r.text.toString());
            if (spec.sampling().wantsLogprobs()) {
                c.set(
                        "logprobs",
                        r.logprobs == null ? LogprobsJson.completion(List.of(), model.tokenizer(), 0) : r.logprobs);
            } else {
                c.putNull("logprobs");
            }
            c.put("finish_reason", r.reason.openAiName());
            if (spec.returnTokenIds()) {
                OpenAiService.ids(c.putArray("token_ids"), r.ids);
            }
        }
        root.set("usage", OpenAiService.usage(total));
        channel.json(root);
    }

    private GenerationObserver observer(int index, Result r, SseWriter sse) {
        return new GenerationObserver() {
            @Override
            public void onText(String piece, int[] tokenIds, List<TokenLogprob> lps) {
                ObjectNode fragment =
                        lps == null ? null : LogprobsJson.completion(lps, model.tokenizer(), r.text.length());
                r.text.append(piece);
                r.ids.addAll(OpenAiService.boxed(tokenIds));
                if (fragment != null) {
                    if (r.logprobs == null) {
                        r.logprobs = fragment;
                    } else {
                        LogprobsJson.append(r.logprobs, fragment);
                    }
                }
                if (sse != null && (!piece.isEmpty() || spec.returnTokenIds() || fragment != null)) {
                    ObjectNode ch = chunk(index, piece, tokenIds, null);
                    if (fragment != null) {
                        ((ObjectNode) ch.get("choices").get(0)).set("logprobs", fragment);
                    }
                    sse.data(Json.text(ch));
                }
            }

            @Override
            public void onFinish(FinishReason reason, Usage usage) {
                r.reason = reason;
                r.usage = usage;
                if (sse != null) {
                    sse.data(Json.text(chunk(index, "", null, reason)));
                }
            }
        };
    }

    private ObjectNode chunk(int index, String text, int[] ids, FinishReason reason) {
        ObjectNode ch = header();
        ObjectNode c = ch.putArray("choices").addObject();
        c.put("index", index);
        c.put("text", text);
        c.putNull("logprobs");
        if (reason == null) {
            c.putNull("finish_reason");
        } else {
            c.put("finish_reason", reason.openAiName());
        }
        if (ids != null && spec.returnTokenIds()) {
            OpenAiService.ids(c.putArray("token_ids"), OpenAiService.boxed(ids));
        }
        if (spec.includeUsage()) {
            ch.putNull("usage");
        }
        return ch;
    }

    private ObjectNode header() {
        ObjectNode root = Json.object();
        root.put("id", id);
        root.put("object", "text_completion");
        root.put("created", created);
        root.put("model", spec.model());
        return root;
    }

    private static void cancel(GenerationCall call) {
        try {
            call.await(new GenerationObserver() {
                @Override
                public void onText(String text, int[] tokenIds, List<TokenLogprob> lps) {
                    throw new IllegalStateException("cancelled: a sibling prompt failed");
                }

                @Override
                public void onFinish(FinishReason reason, Usage usage) {}
            });
        } catch (RuntimeException | InterruptedException ignored) {
            // the cancellation itself is the point
        }
    }
}
