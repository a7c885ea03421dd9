package dev.tandem.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.tandem.api.testing.SharedFixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a stub Hub on loopback (never the real one): cache layout, file selection, resume, progress. */
class HubDownloaderTest {

    @TempDir
    Path home;

    private HttpServer hub;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private Map<String, byte[]> files;

    @BeforeEach
    void startStubHub() throws IOException {
        Path src = SharedFixtures.require("models/stories260K-hf");
        files = Map.of(
                "config.json", Files.readAllBytes(src.resolve("config.json")),
                "model.safetensors", Files.readAllBytes(src.resolve("model.safetensors")),
                "README.md", "not needed".getBytes());
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::serve);
        hub.start();
        System.setProperty("tandem.hf.home", home.toString());
        System.setProperty(
                "tandem.hf.endpoint", "http://127.0.0.1:" + hub.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        hub.stop(0);
        System.clearProperty("tandem.hf.home");
        System.clearProperty("tandem.hf.endpoint");
    }

    private void serve(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        String range = x.getRequestHeaders().getFirst("Range");
        requests.add(path + (range == null ? "" : " " + range));
        byte[] body;
        int status = 200;
        if (path.equals("/api/models/tandem-test/tiny/revision/main")) {
            body = ("{\"sha\":\"abc123\",\"siblings\":[{\"rfilename\":\"config.json\"},"
                            + "{\"rfilename\":\"model.safetensors\"},{\"rfilename\":\"README.md\"}]}")
                    .getBytes();
        } else if (path.startsWith("/tandem-test/tiny/resolve/abc123/")) {
            byte[] all = files.get(path.substring(path.lastIndexOf('/') + 1));
            if (all == null) {
                x.sendResponseHeaders(404, -1);
                x.close();
                return;
            }
            body = all;
            if (range != null) {
                int from = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
                body = Arrays.copyOfRange(all, from, all.length);
                status = 206;
                x.getResponseHeaders()
                        .add("Content-Range", "bytes " + from + "-" + (all.length - 1) + "/" + all.length);
            }
        } else {
            x.sendResponseHeaders(404, -1);
            x.close();
            return;
        }
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    @Test
    void aRepoIdMissingFromTheCacheIsDownloadedIntoItAndLoaded() throws Exception {
        Llama2cLoader.Loaded m = ModelLoader.load("tandem-test/tiny");
        assertThat(m.config().vocabSize()).isEqualTo(512);
        Path repo = home.resolve("hub/models--tandem-test--tiny");
        assertThat(Files.readString(repo.resolve("refs/main"))).isEqualTo("abc123");
        assertThat(Files.readAllBytes(repo.resolve("snapshots/abc123/model.safetensors")))
                .isEqualTo(files.get("model.safetensors"));
        assertThat(requests).noneMatch(r -> r.contains("README.md"));
        // A second load comes from the cache: no new request.
        int before = requests.size();
        ModelLoader.load("tandem-test/tiny");
        assertThat(requests).hasSize(before);
    }

    @Test
    void anInterruptedDownloadResumesWhereItStopped() throws Exception {
        Path snapshot = home.resolve("hub/models--tandem-test--tiny/snapshots/abc123");
        Files.createDirectories(snapshot);
        byte[] weights = files.get("model.safetensors");
        Files.write(snapshot.resolve("model.safetensors.incomplete"), Arrays.copyOf(weights, 1000));
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Path done = new HubDownloader(HubDownloader.configuredEndpoint(), new PrintStream(progress))
                .download("tandem-test/tiny");
        assertThat(requests).contains("/tandem-test/tiny/resolve/abc123/model.safetensors bytes=1000-");
        assertThat(Files.readAllBytes(done.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(Files.exists(snapshot.resolve("model.safetensors.incomplete")))
                .isFalse();
        assertThat(progress.toString()).contains("model.safetensors").contains("100.0%");
    }
}
