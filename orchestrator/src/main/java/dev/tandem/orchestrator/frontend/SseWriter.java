package dev.tandem.orchestrator.frontend;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Server-sent events exactly as OpenAI and vLLM frame them: {@code data: {json}\n\n} (one space after the colon),
 * ending with {@code data: [DONE]\n\n}. Each event is flushed at once. Thread-safe (batched completions write from
 * several threads).
 */
final class SseWriter {

    private static final byte[] PREFIX = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final ReentrantLock lock = new ReentrantLock();

    SseWriter(OutputStream out) {
        this.out = out;
    }

    /** Writes one event; a client that went away surfaces as UncheckedIOException. */
    void data(String payload) {
        lock.lock();
        try {
            out.write(PREFIX);
            out.write(payload.getBytes(StandardCharsets.UTF_8));
            out.write(END);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
    }

    void done() {
        data("[DONE]");
    }

    void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // the client is gone; nothing left to tell it
        }
    }
}
