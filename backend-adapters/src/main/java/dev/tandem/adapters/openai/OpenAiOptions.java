package dev.tandem.adapters.openai;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code openai} engine's options ({@code --upstream URL}, {@code --engine-option key=value}); unknown keys are
 * errors, so a misspelt option is never silently ignored.
 *
 * @param upstream the upstream's base URL, ending in {@code /v1}
 * @param model the upstream model to serve, or null for the first its {@code /models} lists
 * @param apiKey a bearer token for the upstream, or null
 * @param tokenizer the model's tokenizer for the frontend (a Hugging Face directory or tokenizer.json, or a hub
 *     name), or null: with it the frontend tokenizes text and chat prompts itself, routes on their blocks and can
 *     migrate them exactly; without it only token-id prompts are served and the upstream's text passes through
 */
record OpenAiOptions(String upstream, String model, String apiKey, String tokenizer) {

    static final Set<String> KEYS = Set.of("upstream", "model", "api-key", "tokenizer");

    static OpenAiOptions parse(Map<String, String> options) {
        Set<String> unknown = new TreeSet<>(options.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                    "unknown option(s) " + unknown + " for --engine openai; known: " + new TreeSet<>(KEYS));
        }
        String upstream = options.get("upstream");
        if (upstream == null || upstream.isBlank()) {
            throw new IllegalArgumentException("--engine openai needs --upstream URL (the base URL ending in /v1)");
        }
        if (!upstream.startsWith("http://") && !upstream.startsWith("https://")) {
            throw new IllegalArgumentException("--upstream must be an http:// or https:// URL: " + upstream);
        }
        while (upstream.endsWith("/")) {
            upstream = upstream.substring(0, upstream.length() - 1);
        }
        return new OpenAiOptions(upstream, options.get("model"), options.get("api-key"), options.get("tokenizer"));
    }
}
