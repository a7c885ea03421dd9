package dev.tandem.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Downloads a model repository from the Hugging Face Hub into the cache layout that {@link HuggingFaceCache} reads
 * ({@code hub/models--org--name/snapshots/SHA/FILE} and {@code refs/main}). Only the files a Llama-family model
 * needs are fetched (config, safetensors, tokenizer files). An interrupted download resumes: the partial file is
 * kept as {@code FILE.incomplete} and continued with an HTTP Range request. Progress goes to stderr.
 *
 * <p>The endpoint is {@code HF_ENDPOINT} (default {@code https://huggingface.co}; the system property
 * {@code tandem.hf.endpoint} overrides it); {@code HF_TOKEN} is sent as a bearer token when set; {@code
 * HF_HUB_OFFLINE=1} disables downloads. The JDK's HTTP client is used, so the engine needs no HTTP library.
 */
public final class HubDownloader {

    private static final Set<String> WANTED_SUFFIXES =
            Set.of(".safetensors", ".json", ".jinja", "tokenizer.model", ".txt");

    private final HttpClient http = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(20))
            .build();
    private final String endpoint;
    private final PrintStream progress;

    public HubDownloader(String endpoint, PrintStream progress) {
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.progress = progress;
    }

    /** The configured endpoint, or null when downloads are disabled (HF_HUB_OFFLINE=1). */
    public static String configuredEndpoint() {
        if ("1".equals(System.getenv("HF_HUB_OFFLINE"))) {
            return null;
        }
        String p = System.getProperty("tandem.hf.endpoint");
        if (p != null && !p.isBlank()) {
            return p;
        }
        String env = System.getenv("HF_ENDPOINT");
        return env != null && !env.isBlank() ? env : "https://huggingface.co";
    }

    /** Downloads {@code repoId} at its main revision into the cache and returns the snapshot directory. */
    public Path download(String repoId) throws IOException, InterruptedException {
        JsonNode info = json(endpoint + "/api/models/" + repoId + "/revision/main");
        String sha = info.path("sha").asText("");
        if (sha.isEmpty()) {
            throw new IOException("the Hub did not say which revision of " + repoId + " is main");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode s : info.path("siblings")) {
            String name = s.path("rfilename").asText();
            if (WANTED_SUFFIXES.stream().anyMatch(name::endsWith) && !name.contains("/")) {
                files.add(name);
            }
        }
        if (files.stream().noneMatch(f -> f.endsWith(".safetensors"))) {
            throw new IOException(repoId + " has no .safetensors weights on the Hub");
        }
        Path repo = HuggingFaceCache.home().resolve("hub").resolve("models--" + repoId.replace("/", "--"));
        Path snapshot = repo.resolve("snapshots").resolve(sha);
        Files.createDirectories(snapshot);
        for (String f : files) {
            fetch(endpoint + "/" + repoId + "/resolve/" + sha + "/" + f, snapshot.resolve(f));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve("main"), sha);
        return snapshot;
    }

    private JsonNode json(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request(url).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + url + " answered " + r.statusCode());
        }
        return new ObjectMapper().readTree(r.body());
    }

    /** Downloads {@code url} to {@code target}, resuming a previous partial download. */
    void fetch(String url, Path target) throws IOException, InterruptedException {
        if (Files.exists(target)) {
            return;
        }
        Path partial = target.resolveSibling(target.getFileName() + ".incomplete");
        long have = Files.exists(partial) ? Files.size(partial) : 0;
        HttpRequest.Builder b = request(url);
        if (have > 0) {
            b.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        boolean resumed = r.statusCode() == 206;
        if (r.statusCode() != 200 && !resumed) {
            r.body().close();
            throw new IOException("GET " + url + " answered " + r.statusCode());
        }
        if (!resumed) {
            have = 0; // the server ignored the range: start over
        }
        long total = r.headers().firstValueAsLong("Content-Length").orElse(-1) + (resumed ? have : 0);
        String name = target.getFileName().toString();
        try (InputStream in = r.body();
                OutputStream out = Files.newOutputStream(
                        partial,
                        StandardOpenOption.CREATE,
                        resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            long done = have;
            long lastReport = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                done += n;
                if (done - lastReport >= (8 << 20) || (total > 0 && done == total)) {
                    lastReport = done;
                    report(name, done, total);
                }
            }
            report(name, done, total);
            progress.println();
        }
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    }

    private void report(String name, long done, long total) {
        if (total > 0) {
            int width = 30;
            int filled = (int) (width * done / Math.max(1, total));
            progress.printf(
                    "\r%-40s [%s%s] %5.1f%% %,d / %,d bytes",
                    name, "#".repeat(filled), " ".repeat(width - filled), 100.0 * done / total, done, total);
        } else {
            progress.printf("\r%-40s %,d bytes", name, done);
        }
    }

    private static HttpRequest.Builder request(String url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofMinutes(30))
                .GET();
        String token = System.getenv("HF_TOKEN");
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }
}
