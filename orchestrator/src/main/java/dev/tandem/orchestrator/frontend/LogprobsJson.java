package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.api.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Log-probabilities in the two shapes of the OpenAI API: chat's {@code content} list and completions' arrays. */
final class LogprobsJson {

    private LogprobsJson() {}

    /** Chat: {@code {"content":[{"token","logprob","bytes","top_logprobs":[{"token","logprob","bytes"}]}]}}. */
    static ObjectNode chat(List<TokenLogprob> lps, Tokenizer tokenizer) {
        ObjectNode root = Json.object();
        ArrayNode content = root.putArray("content");
        for (TokenLogprob lp : lps) {
            ObjectNode e = entry(content.addObject(), lp.tokenId(), lp.logprob(), tokenizer);
            ArrayNode top = e.putArray("top_logprobs");
            for (int i = 0; i < lp.topIds().length; i++) {
                entry(top.addObject(), lp.topIds()[i], lp.topLogprobs()[i], tokenizer);
            }
        }
        return root;
    }

    private static ObjectNode entry(ObjectNode o, int id, float logprob, Tokenizer tokenizer) {
        String token = text(id, tokenizer);
        o.put("token", token);
        o.put("logprob", logprob);
        ArrayNode bytes = o.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xFF);
        }
        return o;
    }

    /**
     * Completions: {@code {"tokens":[...],"token_logprobs":[...],"top_logprobs":[{token: logprob}],
     * "text_offset":[...]}}, offsets counted from {@code offset} (the text already produced for this choice).
     */
    static ObjectNode completion(List<TokenLogprob> lps, Tokenizer tokenizer, int offset) {
        ObjectNode root = Json.object();
        ArrayNode tokens = root.putArray("tokens");
        ArrayNode values = root.putArray("token_logprobs");
        ArrayNode tops = root.putArray("top_logprobs");
        ArrayNode offsets = root.putArray("text_offset");
        int at = offset;
        for (TokenLogprob lp : lps) {
            String token = text(lp.tokenId(), tokenizer);
            tokens.add(token);
            values.add(lp.logprob());
            ObjectNode top = tops.addObject();
            for (int i = 0; i < lp.topIds().length; i++) {
                top.put(text(lp.topIds()[i], tokenizer), lp.topLogprobs()[i]);
            }
            offsets.add(at);
            at += token.length();
        }
        return root;
    }

    /** Merges a later completions fragment into an accumulated one. */
    static void append(ObjectNode into, ObjectNode more) {
        for (String f : List.of("tokens", "token_logprobs", "top_logprobs", "text_offset")) {
            ((ArrayNode) into.get(f)).addAll((ArrayNode) more.get(f));
        }
    }

    private static String text(int id, Tokenizer tokenizer) {
        return tokenizer == null ? "" : tokenizer.decode(new int[] {id});
    }
}
