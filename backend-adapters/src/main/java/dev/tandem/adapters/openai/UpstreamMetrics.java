package dev.tandem.adapters.openai;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The upstream's own load, read from its Prometheus {@code /metrics} every second when it serves them: vLLM's
 * {@code vllm:num_requests_running}, {@code vllm:num_requests_waiting}, {@code vllm:kv_cache_usage_perc} (older
 * {@code vllm:gpu_cache_usage_perc}), or SGLang's {@code sglang:num_running_reqs}, {@code sglang:num_queue_reqs},
 * {@code sglang:token_usage}; and vLLM's counters {@code vllm:prefix_cache_queries_total}, {@code
 * vllm:prefix_cache_hits_total} (tokens) and {@code vllm:num_preemptions_total}. Samples of one metric with several label sets (data-parallel ranks) are summed, usage
 * averaged. An upstream without metrics leaves the adapter's own counts alone. One virtual thread polls.
 */
final class UpstreamMetrics implements AutoCloseable {

    /** The last reading; {@code known} false until an answer had at least one of the metrics. */
    record Reading(
            boolean known,
            double running,
            double waiting,
            double cacheUsage,
            double prefixQueries,
            double prefixHits,
            double preemptions) {
        static final Reading NONE = new Reading(false, 0, 0, 0, 0, 0, 0);
    }

    private final URI url;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Thread thread;
    private volatile Reading last = Reading.NONE;
    private volatile boolean closed;

    UpstreamMetrics(String base) {
        String root = base.endsWith("/v1") ? base.substring(0, base.length() - 3) : base;
        this.url = URI.create(root + "/metrics");
        this.thread = Thread.ofVirtual().name("metrics-" + root).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    Reading last() {
        return last;
    }

    private void run() {
        while (!closed) {
            try {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(url)
                                .timeout(Duration.ofSeconds(2))
                                .GET()
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    last = parse(r.body());
                }
            } catch (IOException e) {
                // the upstream is down or has no metrics: keep the last reading until it answers again
            } catch (InterruptedException e) {
                return;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Reads the gauges this adapter knows from a Prometheus text exposition. */
    static Reading parse(String text) {
        double running = 0;
        double waiting = 0;
        double usage = 0;
        int usageSamples = 0;
        double queries = 0;
        double hits = 0;
        double preemptions = 0;
        boolean known = false;
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.charAt(0) == '#') {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            if (space < 0) {
                continue;
            }
            String name = line.substring(0, brace >= 0 && brace < space ? brace : line.indexOf(' '))
                    .strip();
            double value;
            try {
                value = Double.parseDouble(line.substring(space + 1).strip());
            } catch (NumberFormatException e) {
                continue;
            }
            switch (name) {
                case "vllm:num_requests_running", "sglang:num_running_reqs" -> {
                    running += value;
                    known = true;
                }
                case "vllm:num_requests_waiting", "sglang:num_queue_reqs" -> {
                    waiting += value;
                    known = true;
                }
                case "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage" -> {
                    usage += value;
                    usageSamples++;
                    known = true;
                }
                case "vllm:prefix_cache_queries_total" -> queries += value;
                case "vllm:prefix_cache_hits_total" -> hits += value;
                case "vllm:num_preemptions_total" -> preemptions += value;
                default -> {
                    // not a metric this adapter uses
                }
            }
        }
        return new Reading(
                known, running, waiting, usageSamples == 0 ? 0 : usage / usageSamples, queries, hits, preemptions);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
