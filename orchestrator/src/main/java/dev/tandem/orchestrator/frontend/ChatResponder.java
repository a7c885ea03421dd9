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

/** Runs one chat completion and renders it as {@code chat.completion} or {@code chat.completion.chunk}s. */
final class ChatResponder {

    private final OpenAiService service;
    private final GenerationSpec spec;
    private final ModelFrontend model;
    private final PromptInput prompt;
    private final String id = "chatcmpl-" + OpenAiService.newId();
    private final long created = Instant.now().getEpochSecond();

    ChatResponder(OpenAiService service, GenerationSpec spec, ModelFrontend model, PromptInput prompt) {
        this.service = service;
        this.spec = spec;
        this.model = model;
        this.prompt = prompt;
    }

    void respond(OpenAiService.ResponseChannel channel) throws InterruptedException {
        GenerationCall call = service.call(spec, model, prompt);
        OpenAiService.routingHeaders(channel, call, call.start());
        if (spec.stream()) {
            stream(call, channel.startEvents());
        } else {
            whole(call, channel);
        }
    }

    private void whole(GenerationCall call, OpenAiService.ResponseChannel channel) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        FinishReason[] reason = new FinishReason[1];
        Usage[] usage = new Usage[1];
        List<TokenLogprob> logprobs = new ArrayList<>();
        call.await(new GenerationObserver() {
            @Override
            public void onText(String piece, int[] tokenIds, List<TokenLogprob> lps) {
                text.append(piece);
                ids.addAll(OpenAiService.boxed(tokenIds));
                if (lps != null) {
                    logprobs.addAll(lps);
                }
            }

            @Override
            public void onFinish(FinishReason r, Usage u) {
                reason[0] = r;
                usage[0] = u;
            }
        });
        ObjectNode root = header("chat.completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", text.toString());
        if (spec.sampling().wantsLogprobs()) {
            choice.set("logprobs", LogprobsJson.chat(logprobs, model.tokenizer()));
        } else {
            choice.putNull("logprobs");
        }
        choice.put("finish_reason", reason[0].openAiName());
        if (spec.returnTokenIds()) {
            OpenAiService.ids(choice.putArray("token_ids"), ids);
        }
        root.set("usage", OpenAiService.usage(usage[0]));
        channel.json(root);
    }

    private void stream(GenerationCall call, SseWriter sse) throws InterruptedException {
        ObjectNode first = chunk();
        ObjectNode c0 = ((ArrayNode) first.get("choices")).addObject();
        c0.put("index", 0);
        c0.putObject("delta").put("role", "assistant").put("content", "");
        c0.putNull("logprobs");
        c0.putNull("finish_reason");
        sse.data(Json.text(first));
        try {
            call.await(new GenerationObserver() {
                @Override
                public void onText(String piece, int[] tokenIds, List<TokenLogprob> lps) {
                    if (piece.isEmpty() && !spec.returnTokenIds() && lps == null) {
                        return;
                    }
                    ObjectNode ch = chunk();
                    ObjectNode c = ((ArrayNode) ch.get("choices")).addObject();
                    c.put("index", 0);
                    c.putObject("delta").put("content", piece);
                    if (lps != null) {
                        c.set("logprobs", LogprobsJson.chat(lps, model.tokenizer()));
                    } else {
                        c.putNull("logprobs");
                    }
                    c.putNull("finish_reason");
                    if (spec.returnTokenIds()) {
                        OpenAiService.ids(c.putArray("token_ids"), OpenAiService.boxed(tokenIds));
                    }
                    sse.data(Json.text(ch));
                }

                @Override
                public void onFinish(FinishReason r, Usage u) {
                    ObjectNode ch = chunk();
                    ObjectNode c = ((ArrayNode) ch.get("choices")).addObject();
                    c.put("index", 0);
                    c.putObject("delta");
                    c.putNull("logprobs");
                    c.put("finish_reason", r.openAiName());
                    sse.data(Json.text(ch));
                    if (spec.includeUsage()) {
                        ObjectNode uc = chunk();
                        uc.set("usage", OpenAiService.usage(u));
                        sse.data(Json.text(uc));
                    }
                }
            });
        } catch (ApiException e) {
            sse.data(Json.text(Json.error(e)));
        }
        sse.done();
    }

    private ObjectNode header(String object) {
        ObjectNode root = Json.object();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", spec.model());
        return root;
    }

    private ObjectNode chunk() {
        ObjectNode ch = header("chat.completion.chunk");
        ch.putArray("choices");
        if (spec.includeUsage()) {
            ch.putNull("usage");
        }
        return ch;
    }
}
