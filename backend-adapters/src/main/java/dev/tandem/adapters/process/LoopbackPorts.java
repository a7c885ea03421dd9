package dev.tandem.adapters.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Free loopback ports for a child server, all distinct. */
public final class LoopbackPorts {

    private LoopbackPorts() {}

    /**
     * {@code n} ports free at the time of the call, distinct from each other: every socket stays open until all are
     * chosen (closing each before asking for the next lets the kernel hand the same port out twice). Another
     * process may still take one before the child binds it; callers retry on a bind failure (see {@link
     * #bindFailed}).
     */
    public static int[] distinct(int n) {
        List<ServerSocket> held = new ArrayList<>(n);
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a listening socket we never used cannot lose anything
                }
            }
        }
    }

    /** Whether a child's failure to start reads as a port taken between our choice and its bind. */
    public static boolean bindFailed(Throwable failure) {
        String m = failure.getMessage();
        return m != null && m.toLowerCase(java.util.Locale.ROOT).contains("address already in use");
    }
}
