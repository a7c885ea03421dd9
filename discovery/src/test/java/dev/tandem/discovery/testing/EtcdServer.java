package dev.tandem.discovery.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A single-member etcd on free loopback ports with a temporary data directory (see {@link ServerProcess}). */
public final class EtcdServer extends ServerProcess {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();

    private final int clientPort = freePort();
    private final int peerPort = freePort();

    private EtcdServer(Path binary) {
        super(binary, "etcd");
    }

    /** Starts etcd; skips the test (fails it with CI=true) when etcd is not installed. */
    public static EtcdServer launch() {
        EtcdServer s = new EtcdServer(requireBinary("etcd", "etcd-server"));
        try {
            s.start();
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
        return s;
    }

    @Override
    protected List<String> command() {
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        return List.of(
                binary.toString(),
                "--name",
                "default",
                "--data-dir",
                dir.resolve("data").toString(),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                "default=" + peer,
                "--logger",
                "zap",
                "--log-outputs",
                "stderr");
    }

    @Override
    protected boolean ready() {
        try {
            HttpResponse<String> r = HTTP.send(
                    HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                            .timeout(Duration.ofSeconds(1))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().contains("\"health\":\"true\"");
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** {@code http://127.0.0.1:PORT}, for jetcd. */
    public String endpoint() {
        return "http://127.0.0.1:" + clientPort;
    }

    public int clientPort() {
        return clientPort;
    }

    /** {@code etcd://127.0.0.1:PORT}, for {@code DiscoveryProvider.open}. */
    public URI uri() {
        return URI.create("etcd://127.0.0.1:" + clientPort);
    }

    @Override
    public String toString() {
        return "etcd on 127.0.0.1:" + clientPort;
    }
}
