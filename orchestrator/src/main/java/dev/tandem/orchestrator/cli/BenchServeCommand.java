package dev.tandem.orchestrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.orchestrator.bench.LatencySummary;
import dev.tandem.orchestrator.bench.ServeBenchmark;
import dev.tandem.orchestrator.frontend.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench serve}: load against any OpenAI-compatible endpoint (Tandem, vLLM, a gateway), streaming over
 * kept-alive connections; TTFT, ITL, TPOT, throughput and errors. Flags and JSON fields are a contract.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description =
                "Load an OpenAI-compatible endpoint with streaming requests; report TTFT, ITL, throughput, errors.")
public final class BenchServeCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, description = "The server (http://host:port, with or without /v1).")
    String url;

    @Option(names = "--model", description = "Model (default: the first one the server lists).")
    String model;

    @Option(
            names = "--endpoint",
            defaultValue = "completions",
            description = "completions or chat (default: ${DEFAULT-VALUE}).")
    String endpoint;

    @Option(
            names = "--concurrency",
            defaultValue = "1",
            description = "Streams in flight at most (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--requests", defaultValue = "100", description = "Measured requests (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(
            names = "--prompt-len",
            defaultValue = "128",
            description = "Prompt tokens, calibrated against the server's usage count (default: ${DEFAULT-VALUE}).")
    int promptLen;

    @Option(
            names = "--gen-len",
            defaultValue = "128",
            description = "Output tokens per request, with ignore_eos (default: ${DEFAULT-VALUE}).")
    int genLen;

    @Option(
            names = "--request-rate",
            defaultValue = "0",
            description =
                    "Poisson arrivals per second; 0 = each as soon as a stream is free (default: ${DEFAULT-VALUE}).")
    double requestRate;

    @Option(
            names = "--warmup",
            defaultValue = "0",
            description = "Requests first, not measured; they open the kept-alive connections (default:"
                    + " ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
            names = "--api-key",
            description = "Bearer key (default: the OPENAI_API_KEY environment variable, when set).")
    String apiKey;

    @Option(
            names = "--header",
            description = "An extra request header NAME:VALUE (repeatable; a gateway's routing headers, say).")
    java.util.List<String> headers = new java.util.ArrayList<>();

    @Option(
            names = "--seed",
            defaultValue = "0",
            description = "Seed of prompts and arrivals (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--timeout-seconds",
            defaultValue = "600",
            description = "Per-request limit (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--json", description = "Print one compact JSON object on the last stdout line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        String base = url.replaceAll("/+$", "");
        if (!base.endsWith("/v1")) {
            base = base + "/v1";
        }
        URI root = URI.create(base);
        if (root.getScheme() == null || !root.getScheme().startsWith("http") || root.getHost() == null) {
            throw new IllegalArgumentException("--url must be an http(s) URL, not '" + url + "'");
        }
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        String m = model != null ? model : firstModel(root, key);
        ServeBenchmark.Result r = ServeBenchmark.run(new ServeBenchmark.Settings(
                root,
                m,
                endpoint,
                concurrency,
                requests,
                promptLen,
                genLen,
                requestRate,
                warmup,
                key,
                seed,
                Duration.ofSeconds(timeoutSeconds),
                headers(headers)));
        LatencySummary t = r.ttftMs();
        LatencySummary i = r.itlMs();
        System.err.printf(
                "tandem: %d ok, %d failed in %.2f s: %.2f req/s, %.1f output tok/s; TTFT p50 %.2f p99 %.2f ms;"
                        + " ITL p50 %.2f p99 %.2f ms%s%n",
                r.ok(),
                r.failed(),
                r.seconds(),
                r.requestsPerSecond(),
                r.outputTokensPerSecond(),
                t.p50(),
                t.p99(),
                i.p50(),
                i.p99(),
                r.errors().isEmpty() ? "" : "; errors " + r.errors());
        System.out.println(json ? Json.text(r.json()) : r.json().toPrettyString());
        return r.failed() == 0 ? 0 : 1;
    }

    private static java.util.Map<String, String> headers(java.util.List<String> given) {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String h : given) {
            int colon = h.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--header must be NAME:VALUE, not '" + h + "'");
            }
            out.put(h.substring(0, colon).strip(), h.substring(colon + 1).strip());
        }
        return out;
    }

    private static String firstModel(URI root, String key) throws IOException, InterruptedException {
        HttpRequest.Builder req =
                HttpRequest.newBuilder(URI.create(root + "/models")).timeout(Duration.ofSeconds(30));
        if (key != null) {
            req.header("Authorization", "Bearer " + key);
        }
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r;
            try {
                r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new IOException("cannot reach " + root + "/models ("
                        + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
            }
            if (r.statusCode() != 200) {
                throw new IOException("GET " + root + "/models answered " + r.statusCode() + "; give --model");
            }
            JsonNode data = new ObjectMapper().readTree(r.body()).path("data");
            if (!data.isArray() || data.isEmpty()) {
                throw new IOException(root + "/models lists no model; give --model");
            }
            return data.get(0).path("id").asText();
        }
    }
}
