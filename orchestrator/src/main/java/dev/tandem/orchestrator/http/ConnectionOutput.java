package dev.tandem.orchestrator.http;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The buffered write side of one connection. Nothing reaches the socket before {@link #flush()}, so a response's
 * head and its first bytes leave in one segment. A write blocked on a client that stopped reading is visible to the
 * server's watchdog ({@link #blockedSinceNanos()}), which closes the socket past the idle timeout. A failed write
 * marks the connection broken: the client left, which is normal, and every later write fails at once.
 */
final class ConnectionOutput extends OutputStream {

    private final OutputStream out;
    private final byte[] buf = new byte[16 << 10];
    private int count;
    private volatile long blockedSince;
    private boolean broken;

    ConnectionOutput(OutputStream out) {
        this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
        if (count == buf.length) {
            drain();
        }
        buf[count++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (len > buf.length - count) {
            drain();
            if (len > buf.length) {
                socketWrite(b, off, len);
                return;
            }
        }
        System.arraycopy(b, off, buf, count, len);
        count += len;
    }

    @Override
    public void flush() throws IOException {
        drain();
    }

    private void drain() throws IOException {
        if (count > 0) {
            int n = count;
            count = 0;
            socketWrite(buf, 0, n);
        }
    }

    private void socketWrite(byte[] b, int off, int len) throws IOException {
        if (broken) {
            throw new IOException("the connection is closed");
        }
        blockedSince = System.nanoTime() | 1; // never 0, which means "not writing"
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            broken = true;
            throw e;
        } finally {
            blockedSince = 0;
        }
    }

    /** When the write in progress started (System.nanoTime), or 0 when none is. */
    long blockedSinceNanos() {
        return blockedSince;
    }

    boolean broken() {
        return broken;
    }
}
