package dev.tandem.discovery.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** A nats-server on a free loopback port (see {@link ServerProcess}); a restart reuses the port. */
public final class NatsServer extends ServerProcess {

    private final int port = freePort();

    private NatsServer(Path binary) {
        super(binary, "nats");
    }

    /** Starts nats-server; skips the test (fails it with CI=true) when it is not installed. */
    public static NatsServer launch() {
        NatsServer s = new NatsServer(requireBinary("nats-server", "nats-server"));
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
        return List.of(binary.toString(), "-a", "127.0.0.1", "-p", Integer.toString(port));
    }

    /** Ready once a client connection gets the server's INFO line. */
    @Override
    protected boolean ready() {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(1_000);
            InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(4);
            return new String(head, StandardCharsets.US_ASCII).equals("INFO");
        } catch (IOException e) {
            return false;
        }
    }

    public int port() {
        return port;
    }

    /** {@code nats://127.0.0.1:PORT}. */
    public URI uri() {
        return URI.create("nats://127.0.0.1:" + port);
    }

    @Override
    public String toString() {
        return "nats-server on 127.0.0.1:" + port;
    }
}
