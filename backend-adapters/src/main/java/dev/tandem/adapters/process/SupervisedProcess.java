package dev.tandem.adapters.process;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An engine server run as a child process (vLLM, SGLang, trtllm-serve): started with the worker's environment plus
 * {@code env}, its output forwarded line by line to this process's stderr behind a prefix, ready when its health URL
 * answers 200, restarted with exponential backoff (1 s doubling to 30 s) whenever it exits, and stopped with its
 * whole process tree (descendants first, SIGTERM, then SIGKILL after a grace period) on {@link #close()}.
 *
 * <p>Threads: one virtual thread forwards output and one watches for exits, per incarnation.
 */
public final class SupervisedProcess implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(SupervisedProcess.class.getName());
    private static final int TAIL_LINES = 20;

    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final URI health;
    private final ReentrantLock lock = new ReentrantLock();
    private final Deque<String> tail = new ArrayDeque<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process process;
    private volatile Runnable onRestart = () -> {};
    private volatile Runnable onExit = () -> {};
    private volatile boolean closed;
    private int restarts;

    /**
     * @param name a prefix for its forwarded output and for messages
     * @param health a URL that answers 200 once the server is ready
     */
    public SupervisedProcess(String name, List<String> command, Map<String, String> env, URI health) {
        this.name = name;
        this.command = List.copyOf(command);
        this.env = Map.copyOf(env);
        this.health = health;
    }

    /** Runs {@code action} each time the child, started again after an exit, answers its health URL. */
    public void onRestart(Runnable action) {
        this.onRestart = action;
    }

    /** Runs {@code action} each time the child exits (before any restart). */
    public void onExit(Runnable action) {
        this.onExit = action;
    }

    /** Starts the child and waits until it is healthy; throws with its last output lines when it is not. */
    public void start(Duration startupTimeout) throws IOException {
        launch();
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        while (!healthy()) {
            Process p = current();
            if (!p.isAlive()) {
                throw new IOException(name + " exited with status " + p.exitValue() + " while starting ("
                        + String.join(" ", command) + "); its last output:\n" + tail());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(name + " did not answer " + health + " within " + startupTimeout.toSeconds()
                        + " s; its last output:\n" + tail());
            }
            sleep(250);
        }
    }

    private void launch() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        lock.lock();
        try {
            process = p;
        } finally {
            lock.unlock();
        }
        Thread.ofVirtual().name(name + "-output").start(() -> forward(p));
        Thread.ofVirtual().name(name + "-watch").start(() -> watch(p));
    }

    private void forward(Process p) {
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                System.err.println("[" + name + "] " + line);
                lock.lock();
                try {
                    tail.addLast(line);
                    if (tail.size() > TAIL_LINES) {
                        tail.removeFirst();
                    }
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            // the child closed its output: it is exiting
        }
    }

    private void watch(Process p) {
        int status;
        try {
            status = p.waitFor();
        } catch (InterruptedException e) {
            return;
        }
        if (closed) {
            return;
        }
        onExit.run();
        long backoff = Math.min(30_000, 1000L << Math.min(5, restarts++));
        LOG.log(System.Logger.Level.WARNING, "{0} exited with status {1}; restarting in {2} ms", name, status, backoff);
        sleep(backoff);
        if (closed) {
            return;
        }
        try {
            launch();
            Process restarted = current();
            while (!closed && restarted.isAlive() && !healthy()) {
                sleep(250);
            }
            if (!closed && restarted.isAlive()) {
                onRestart.run();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, name + " could not be restarted", e);
        }
    }

    /** Whether the health URL answers 200 now. */
    public boolean healthy() {
        try {
            HttpResponse<Void> r = http.send(
                    HttpRequest.newBuilder(health)
                            .timeout(Duration.ofSeconds(2))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The child's pid now (it changes on restart). */
    public long pid() {
        return current().pid();
    }

    private Process current() {
        lock.lock();
        try {
            return process;
        } finally {
            lock.unlock();
        }
    }

    private String tail() {
        lock.lock();
        try {
            return String.join("\n", tail);
        } finally {
            lock.unlock();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the child and everything it started. */
    @Override
    public void close() {
        closed = true;
        Process p = current();
        if (p == null) {
            return;
        }
        List<ProcessHandle> tree = p.descendants().toList();
        tree.forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                tree.forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
}
