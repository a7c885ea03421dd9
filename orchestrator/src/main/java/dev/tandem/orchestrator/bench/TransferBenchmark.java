package dev.tandem.orchestrator.bench;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.KvConnectors;
import dev.tandem.api.kv.connector.KvLayout;
import dev.tandem.api.kv.connector.MatchedTokens;
import dev.tandem.api.kv.connector.MemoryKvBlockStore;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Moves KV blocks between two workers' peer connectors over a real loopback gRPC connection, exactly as a decode
 * worker pulls a prefill's KV (the same SPI calls, the same service, checksums included), repeated until at least
 * {@code minSeconds} have passed; and, in the same run, copies as many bytes over a plain TCP socket on the same
 * loopback as the reference.
 */
public final class TransferBenchmark {

    /**
     * @param gbytesPerSecond KV payload moved per second (1e9 bytes)
     * @param bytes KV payload moved
     * @param blocks blocks moved
     * @param tcpGbytesPerSecond a plain TCP copy on the same loopback in the same run
     */
    public record Result(
            double gbytesPerSecond,
            long bytes,
            long blocks,
            int transfers,
            double seconds,
            double tcpGbytesPerSecond) {}

    private TransferBenchmark() {}

    public static Result run(KvLayout layout, int tokens, double minSeconds) throws Exception {
        int blocks = (tokens + layout.blockSize() - 1) / layout.blockSize();
        try (MemoryKvBlockStore senderStore = new MemoryKvBlockStore(layout, blocks);
                MemoryKvBlockStore receiverStore = new MemoryKvBlockStore(layout, blocks)) {
            fill(senderStore.memory());
            Semaphore wakeups = new Semaphore(0);
            KvConnector sender = KvConnectors.provider("peer").create("bench-prefill", Map.of());
            KvConnector receiver = KvConnectors.provider("peer").create("bench-decode", Map.of());
            sender.register(new KvConnectorContext("bench-prefill", senderStore, () -> {}));
            receiver.register(new KvConnectorContext("bench-decode", receiverStore, wakeups::release));
            GrpcWorkerServer server = GrpcWorkerServer.start(null, "127.0.0.1", 0, sender.services());
            try {
                sender.advertise(server.address());
                int[] ids = new int[blocks];
                for (int i = 0; i < blocks; i++) {
                    ids[i] = i;
                }
                transfer(sender, receiver, wakeups, tokens, ids, "warmup"); // JIT and connection, untimed
                if (senderStore.memory().mismatch(receiverStore.memory()) != -1) {
                    throw new IllegalStateException("the transferred KV differs from what was sent");
                }
                long start = System.nanoTime();
                int n = 0;
                do {
                    transfer(sender, receiver, wakeups, tokens, ids, "t" + n);
                    n++;
                } while ((System.nanoTime() - start) / 1e9 < minSeconds);
                double seconds = (System.nanoTime() - start) / 1e9;
                long bytes = (long) n * blocks * layout.bytesPerBlock();
                double tcp = tcpCopy(Math.min(bytes, 4L << 30), minSeconds);
                return new Result(bytes / seconds / 1e9, bytes, (long) n * blocks, n, seconds, tcp);
            } finally {
                server.close();
                sender.close();
                receiver.close();
            }
        }
    }

    private static void transfer(
            KvConnector sender, KvConnector receiver, Semaphore wakeups, int tokens, int[] ids, String id)
            throws InterruptedException {
        var held = sender.requestFinished(
                new ConnectorRequest(
                        id, new int[0], tokens, tokens, tokens, new long[0], "{\"do_remote_decode\":true}"),
                FinishReason.LENGTH,
                ids);
        ConnectorRequest pull =
                new ConnectorRequest(id, new int[0], tokens + 1, tokens, 0, new long[0], held.kvTransferParams());
        MatchedTokens m = receiver.matchedTokens(pull, 0);
        if (m.tokens() != tokens) {
            throw new IllegalStateException("the receiver matched " + m.tokens() + " of " + tokens + " tokens");
        }
        receiver.afterAllocation(pull, ids, 0, tokens);
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (true) {
            wakeups.tryAcquire(50, TimeUnit.MILLISECONDS);
            if (receiver.finished().received().contains(id)) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("transfer " + id + " did not finish in 120 s");
            }
        }
        Set<Integer> failed = receiver.failedBlockLoads();
        if (!failed.isEmpty()) {
            throw new IllegalStateException(failed.size() + " blocks failed to transfer");
        }
        sender.finished(); // frees the sender's side
    }

    private static void fill(MemorySegment m) {
        for (long i = 0; i < m.byteSize() / 8; i++) {
            m.setAtIndex(ValueLayout.JAVA_LONG, i, i * 0x9E3779B97F4A7C15L);
        }
    }

    /** Bytes per second (1e9) of a plain socket copy on loopback, repeated until {@code minSeconds} passed. */
    static double tcpCopy(long bytesPerRound, double minSeconds) throws IOException, InterruptedException {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread reader = Thread.ofPlatform().start(() -> {
                try (Socket s = ss.accept();
                        InputStream in = s.getInputStream()) {
                    byte[] buf = new byte[1 << 20];
                    while (in.read(buf) >= 0) {
                        // discard, as iperf3 does
                    }
                } catch (IOException ignored) {
                    // the writer closed
                }
            });
            byte[] chunk = new byte[1 << 20];
            long sent = 0;
            long start;
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
                    OutputStream out = s.getOutputStream()) {
                for (int i = 0; i < 64; i++) {
                    out.write(chunk); // warm-up
                }
                start = System.nanoTime();
                do {
                    for (long b = 0; b < bytesPerRound; b += chunk.length) {
                        out.write(chunk);
                    }
                    sent += bytesPerRound;
                } while ((System.nanoTime() - start) / 1e9 < minSeconds);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            reader.join();
            return sent / seconds / 1e9;
        }
    }
}
