package dev.tandem.orchestrator.frontend;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Server-sent events exactly as OpenAI and vLLM frame them: {@code data: {json}\n\n} (one space after the colon),
 * ending with {@code data: [DONE]\n\n}. Each event is written as one piece and flushed at once, so it leaves in one
 * chunk and one segment. Thread-safe (batched completions write from several threads); after [DONE] nothing more
 * is written.
 */
final class SseWriter {

    private static final byte[] PREFIX = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean done;

    SseWriter(OutputStream out) {
        this.out = out;
    }

    /** Writes one event; a client that went away surfaces as UncheckedIOException. */
    void data(String payload) {
        byte[] p = payload.getBytes(StandardCharsets.UTF_8);
        byte[] event = new byte[PREFIX.length + p.length + END.length];
        System.arraycopy(PREFIX, 0, event, 0, PREFIX.length);
        System.arraycopy(p, 0, event, PREFIX.length, p.length);
        System.arraycopy(END, 0, event, PREFIX.length + p.length, END.length);
        lock.lock();
        try {
            if (done) {
                return;
            }
            out.write(event);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
    }

    /** Writes {@code [DONE]} and ends the stream. */
    void done() {
        data("[DONE]");
        lock.lock();
        try {
            done = true;
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
    }
}
