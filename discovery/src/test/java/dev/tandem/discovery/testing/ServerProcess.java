package dev.tandem.discovery.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * A server binary (etcd, nats-server) run by a test on loopback ports, with a temporary directory for its data and
 * log. {@link #start()} waits until it answers; {@link #close()} kills it and removes the directory. Every process
 * still running when the JVM exits (a test that never reached its cleanup) is killed by a shutdown hook.
 */
public abstract class ServerProcess implements AutoCloseable {

    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly), "kill-test-servers"));
    }

    protected final Path binary;
    protected final Path dir;
    private final Path log;
    private Process process;
    private int starts;

    protected ServerProcess(Path binary, String name) {
        this.binary = binary;
        try {
            this.dir = Files.createTempDirectory("tandem-" + name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.log = dir.resolve(name + ".log");
    }

    /** The command line; the same on every start, so that a restart reuses the ports and the data directory. */
    protected abstract List<String> command();

    /** Whether the server answers now. */
    protected abstract boolean ready();

    /** Starts the server and waits until it answers; fails the test (after killing it) if it does not. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(this + " is running");
        }
        try {
            process = new ProcessBuilder(command())
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command(), e);
        }
        RUNNING.add(process);
        starts++;
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!ready()) {
            if (!process.isAlive()) {
                String tail = logTail();
                kill();
                Assertions.fail(
                        this + " exited with status " + process.exitValue() + " before it was ready; log:\n" + tail);
            }
            if (System.nanoTime() - deadline > 0) {
                String tail = logTail();
                kill();
                Assertions.fail(this + " was not ready within " + READY_TIMEOUT + "; log:\n" + tail);
            }
            sleep(20);
        }
    }

    /** Kills the server at once (SIGKILL), as a crash would; its data directory stays for a restart. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException(this + " did not die within 10 s of SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        RUNNING.remove(process);
    }

    /** Kills the server and starts it again on the same ports and data directory. */
    public void restart() {
        kill();
        start();
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** How many times the process was started. */
    public synchronized int starts() {
        return starts;
    }

    /** The last lines of the server's log, for failure messages. */
    public String logTail() {
        try {
            List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        kill();
        try (Stream<Path> paths = Files.walk(dir)) {
            List<Path> all =
                    new ArrayList<>(paths.sorted(Comparator.reverseOrder()).toList());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover temporary directory is harmless
        }
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static final java.util.Set<Integer> ISSUED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A loopback port that was free a moment ago and that this JVM has not handed out before: the kernel may give
     * a just-closed port out again, and two servers of one test (etcd's client and peer ports) must not share one.
     */
    public static int freePort() {
        while (true) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (ISSUED.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * The path of {@code name} on the PATH or in the usual system directories (Debian installs nats-server in
     * /usr/sbin). When it is missing the calling test is skipped with the reason, or fails with CI=true, so that CI
     * can never pass by skipping.
     */
    public static Path requireBinary(String name, String debianPackage) {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(java.io.File.pathSeparator)));
        }
        dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        String why = name + " is not installed (on Debian: apt-get install " + debianPackage + "; .ci/run does it)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(why + " (CI=true: a missing server binary is a failure)");
        }
        Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
