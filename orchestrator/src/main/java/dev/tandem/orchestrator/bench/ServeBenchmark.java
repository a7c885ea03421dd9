package dev.tandem.orchestrator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.orchestrator.frontend.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.LockSupport;

/**
 * A load generator for any OpenAI-compatible endpoint, as its users connect: streaming requests over kept-alive
 * HTTP/1.1 connections (one per concurrent stream, reused), at most {@code concurrency} in flight, arriving as fast
 * as that allows or at a Poisson rate. It measures the time to the first token (the first chunk with text, not the
 * first byte), the gaps between chunks with text, the time per output token after the first, and the whole request;
 * token counts come from the server's usage ({@code stream_options.include_usage}) when it reports them.
 */
public final class ServeBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Words of the prompts: common English, each one token in the usual BPE vocabularies. */
    private static final String[] WORDS = {
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he",
        "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their",
        "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so",
        "no", "time", "people", "year", "way", "day", "man", "thing", "woman", "life", "child", "world", "school"
    };

    /**
     * What to run.
     *
     * @param baseUrl the API root, ending in {@code /v1}
     * @param endpoint {@code completions} or {@code chat}
     * @param promptLen prompt tokens wanted; the prompt is calibrated against the server's count when it gives one
     * @param requestRate requests per second (Poisson arrivals), 0 = each as soon as a stream is free
     * @param warmup requests sent first and not counted (they open the connections)
     * @param headers extra request headers (a gateway's routing headers, say)
     */
    public record Settings(
            URI baseUrl,
            String model,
            String endpoint,
            int concurrency,
            int requests,
            int promptLen,
            int genLen,
            double requestRate,
            int warmup,
            String apiKey,
            long seed,
            Duration timeout,
            Map<String, String> headers) {

        public Settings {
            headers = Map.copyOf(headers);
            if (!endpoint.equals("completions") && !endpoint.equals("chat")) {
                throw new IllegalArgumentException("--endpoint must be completions or chat, not '" + endpoint + "'");
            }
            if (concurrency < 1 || requests < 1 || promptLen < 1 || genLen < 1 || warmup < 0 || requestRate < 0) {
                throw new IllegalArgumentException("--concurrency, --requests, --prompt-len and --gen-len must be"
                        + " positive; --warmup and --request-rate not negative");
            }
        }
    }

    /** How one request went. */
    record Outcome(String error, double ttftMs, double[] gapsMs, double e2eMs, int promptTokens, int outputTokens) {

        static Outcome failed(String error) {
            return new Outcome(error, 0, new double[0], 0, 0, 0);
        }

        boolean ok() {
            return error == null;
        }
    }

    /** The measurement; latencies in milliseconds. */
    public record Result(
            Settings settings,
            int ok,
            int failed,
            Map<String, Integer> errors,
            double seconds,
            long promptTokens,
            long outputTokens,
            LatencySummary ttftMs,
            LatencySummary itlMs,
            LatencySummary tpotMs,
            LatencySummary e2eMs) {

        public double requestsPerSecond() {
            return ok / seconds;
        }

        public double outputTokensPerSecond() {
            return outputTokens / seconds;
        }

        /** The JSON that {@code bench serve --json} prints (its fields are a contract). */
        public ObjectNode json() {
            ObjectNode o = Json.object();
            o.put("url", settings.baseUrl().toString());
            o.put("model", settings.model());
            o.put("endpoint", settings.endpoint());
            o.put("concurrency", settings.concurrency());
            o.put("request_rate", settings.requestRate());
            o.put("requests", settings.requests());
            o.put("ok", ok);
            o.put("failed", failed);
            ObjectNode e = o.putObject("errors");
            errors.forEach(e::put);
            o.put("duration_s", LatencySummary.round(seconds));
            o.put("request_throughput", LatencySummary.round(requestsPerSecond()));
            o.put("output_token_throughput", LatencySummary.round(outputTokensPerSecond()));
            o.put("total_token_throughput", LatencySummary.round((promptTokens + outputTokens) / seconds));
            o.put("prompt_tokens", promptTokens);
            o.put("output_tokens", outputTokens);
            o.put("mean_prompt_tokens", ok == 0 ? 0 : LatencySummary.round((double) promptTokens / ok));
            o.put("mean_output_tokens", ok == 0 ? 0 : LatencySummary.round((double) outputTokens / ok));
            o.set("ttft_ms", ttftMs.json());
            o.set("itl_ms", itlMs.json());
            o.set("tpot_ms", tpotMs.json());
            o.set("e2e_ms", e2eMs.json());
            return o;
        }
    }

    private static final int ERROR_KINDS = 8;

    private final Settings s;
    private final HttpClient http;

    private ServeBenchmark(Settings s, ExecutorService io) {
        this.s = s;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .executor(io)
                .build();
    }

    /** Runs the warm-up, then the measured requests; returns when every request has ended. */
    public static Result run(Settings s) throws InterruptedException, IOException {
        try (ExecutorService io = Executors.newVirtualThreadPerTaskExecutor()) {
            ServeBenchmark b = new ServeBenchmark(s, io);
            try {
                return b.measure();
            } finally {
                b.http.shutdownNow();
            }
        }
    }

    private Result measure() throws InterruptedException, IOException {
        int words = calibrate();
        if (s.warmup() > 0) {
            runAll(s.warmup(), 0, words, s.seed() ^ 0x5EEDL);
        }
        long start = System.nanoTime();
        List<Outcome> outcomes = runAll(s.requests(), s.requestRate(), words, s.seed());
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Double> ttft = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        Map<String, Integer> errors = new LinkedHashMap<>();
        int ok = 0;
        long prompt = 0;
        long output = 0;
        for (Outcome o : outcomes) {
            if (!o.ok()) {
                if (errors.size() < ERROR_KINDS || errors.containsKey(o.error())) {
                    errors.merge(o.error(), 1, Integer::sum);
                } else {
                    errors.merge("other errors", 1, Integer::sum);
                }
                continue;
            }
            ok++;
            prompt += o.promptTokens();
            output += o.outputTokens();
            ttft.add(o.ttftMs());
            e2e.add(o.e2eMs());
            for (double g : o.gapsMs()) {
                gaps.add(g);
            }
            if (o.outputTokens() > 1) {
                tpot.add((o.e2eMs() - o.ttftMs()) / (o.outputTokens() - 1));
            }
        }
        return new Result(
                s,
                ok,
                outcomes.size() - ok,
                errors,
                seconds,
                prompt,
                output,
                LatencySummary.of(array(ttft)),
                LatencySummary.of(array(gaps)),
                LatencySummary.of(array(tpot)),
                LatencySummary.of(array(e2e)));
    }

    /**
     * The words of a prompt of {@code --prompt-len} tokens on this server: the tokens per word from prompts of 100
     * and 300 words, then a few corrections at the length itself (a chat template adds a fixed part); {@code
     * --prompt-len} words when the server reports no usage.
     */
    private int calibrate() throws IOException {
        int small = calibration(100);
        int large = calibration(300);
        if (small <= 0 || large <= small) {
            return s.promptLen();
        }
        double perWord = (large - small) / 200.0;
        int words = Math.max(2, (int) Math.round(s.promptLen() / perWord));
        for (int i = 0; i < 3; i++) {
            int off = s.promptLen() - calibration(words);
            int step = (int) Math.round(off / perWord);
            if (step == 0) {
                break;
            }
            words = Math.max(2, words + step);
        }
        return words;
    }

    private int calibration(int words) throws IOException {
        Outcome o = send(prompt(new SplittableRandom(s.seed() - words), -1, words), 1);
        if (!o.ok()) {
            throw new IOException("a first request to " + s.baseUrl() + " failed: " + o.error());
        }
        return o.promptTokens();
    }

    private List<Outcome> runAll(int n, double rate, int words, long seed) throws InterruptedException {
        Outcome[] out = new Outcome[n];
        Semaphore streams = new Semaphore(s.concurrency());
        SplittableRandom arrivals = new SplittableRandom(seed);
        List<Thread> threads = new ArrayList<>(n);
        long next = System.nanoTime();
        for (int i = 0; i < n; i++) {
            if (rate > 0) {
                next += (long) (-Math.log(1 - arrivals.nextDouble()) / rate * 1e9);
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
            streams.acquire();
            int k = i;
            String text = prompt(new SplittableRandom(seed + 31L * i), i, words);
            threads.add(Thread.ofVirtual().name("bench-serve-" + i).start(() -> {
                try {
                    out[k] = send(text, s.genLen());
                } finally {
                    streams.release();
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        return List.of(out);
    }

    /** A prompt of {@code words} words, distinct from the first word on (no request reuses another's cache). */
    static String prompt(SplittableRandom r, int index, int words) {
        StringBuilder b = new StringBuilder(words * 6);
        b.append("request ").append(index);
        for (int i = 2; i < words; i++) {
            b.append(' ').append(WORDS[r.nextInt(WORDS.length)]);
        }
        return b.toString();
    }

    private Outcome send(String prompt, int maxTokens) {
        ObjectNode body = Json.object();
        body.put("model", s.model());
        if (s.endpoint().equals("chat")) {
            body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        } else {
            body.put("prompt", prompt);
        }
        body.put("max_tokens", maxTokens);
        body.put("stream", true);
        body.put("ignore_eos", true); // vLLM's and Tandem's extension: every request produces --gen-len tokens
        body.put("temperature", 0);
        body.putObject("stream_options").put("include_usage", true);
        HttpRequest.Builder req = HttpRequest.newBuilder(
                        URI.create(s.baseUrl() + (s.endpoint().equals("chat") ? "/chat/completions" : "/completions")))
                .timeout(s.timeout())
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body)));
        if (s.apiKey() != null) {
            req.header("Authorization", "Bearer " + s.apiKey());
        }
        s.headers().forEach(req::header);
        long t0 = System.nanoTime();
        try {
            HttpResponse<InputStream> res = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = res.body()) {
                if (res.statusCode() != 200) {
                    return Outcome.failed("HTTP " + res.statusCode() + errorMessage(in.readAllBytes()));
                }
                return read(in, t0);
            }
        } catch (IOException e) {
            return Outcome.failed(e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.failed("interrupted");
        }
    }

    /** Reads the event stream to {@code [DONE]}, timing each chunk that carries text. */
    private Outcome read(InputStream in, long t0) throws IOException {
        BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        long first = -1;
        long last = -1;
        List<Double> gaps = new ArrayList<>();
        int chunks = 0;
        int promptTokens = 0;
        int outputTokens = -1;
        boolean done = false;
        String line;
        while ((line = lines.readLine()) != null) {
            long now = System.nanoTime();
            if (!line.startsWith("data:")) {
                continue;
            }
            String data = line.substring(5).strip();
            if (data.equals("[DONE]")) {
                done = true;
                break;
            }
            JsonNode c = JSON.readTree(data);
            if (c.has("error")) {
                return Outcome.failed("error in the stream: "
                        + c.path("error").path("message").asText());
            }
            JsonNode usage = c.path("usage");
            if (usage.isObject()) {
                promptTokens = usage.path("prompt_tokens").asInt(promptTokens);
                outputTokens = usage.path("completion_tokens").asInt(outputTokens);
            }
            JsonNode choice = c.path("choices").path(0);
            String text = choice.has("text")
                    ? choice.path("text").asText("")
                    : choice.path("delta").path("content").asText("");
            if (text.isEmpty()) {
                continue;
            }
            chunks++;
            if (first < 0) {
                first = now;
            } else {
                gaps.add((now - last) / 1e6);
            }
            last = now;
        }
        long end = System.nanoTime();
        if (!done) {
            return Outcome.failed("the stream ended without [DONE]");
        }
        if (first < 0) {
            return Outcome.failed("no text in the stream");
        }
        return new Outcome(
                null,
                (first - t0) / 1e6,
                array(gaps),
                (end - t0) / 1e6,
                promptTokens,
                outputTokens >= 0 ? outputTokens : chunks);
    }

    private static String errorMessage(byte[] body) {
        try {
            String m = JSON.readTree(body).path("error").path("message").asText("");
            return m.isEmpty() ? "" : ": " + (m.length() > 120 ? m.substring(0, 120) + "…" : m);
        } catch (IOException e) {
            return "";
        }
    }

    private static double[] array(List<Double> values) {
        double[] a = new double[values.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = values.get(i);
        }
        return a;
    }
}
