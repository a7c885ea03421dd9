package dev.tandem.engine.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A listener that never blocks: it collects deltas into a queue and completes a future on the terminal signal. It
 * also records protocol violations (anything after the terminal signal), which {@link #finalDelta()} asserts away.
 */
public final class RecordingListener implements TokenListener {

    private final LinkedBlockingQueue<TokenDelta> queue = new LinkedBlockingQueue<>();
    private final List<TokenDelta> deltas = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private final CompletableFuture<TokenDelta> done = new CompletableFuture<>();

    @Override
    public synchronized void onDelta(TokenDelta delta) {
        if (done.isDone()) {
            violations.add("delta after the terminal signal: " + delta);
        }
        deltas.add(delta);
        queue.add(delta);
        if (delta.isFinal()) {
            done.complete(delta);
        }
    }

    @Override
    public synchronized void onError(EngineException error) {
        if (done.isDone()) {
            violations.add("error after the terminal signal: " + error);
        }
        done.completeExceptionally(error);
    }

    public boolean isDone() {
        return done.isDone();
    }

    public CompletableFuture<TokenDelta> done() {
        return done;
    }

    /** The next delta in arrival order, waiting at most {@code timeout}; fails the test when none comes. */
    public TokenDelta nextDelta(Duration timeout) throws InterruptedException {
        TokenDelta d = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(d).as("a delta within " + timeout).isNotNull();
        return d;
    }

    /** Waits for the terminal delta (generously) and returns it. */
    public TokenDelta await() throws Exception {
        return done.get(30, TimeUnit.SECONDS);
    }

    /** Waits at most {@code timeout} for the terminal delta and returns it. */
    public TokenDelta await(Duration timeout) throws Exception {
        return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The terminal delta; fails if there is none yet or if anything arrived after it. */
    public synchronized TokenDelta finalDelta() {
        assertThat(done).as("finished").isDone();
        assertThat(violations).as("listener protocol violations").isEmpty();
        return done.join();
    }

    public synchronized List<TokenDelta> deltas() {
        return List.copyOf(deltas);
    }

    /** Every token received, in order. */
    public synchronized int[] tokens() {
        return deltas.stream()
                .flatMapToInt(d -> java.util.Arrays.stream(d.tokenIds()))
                .toArray();
    }

    public FinishReason finishReason() {
        return finalDelta().finishReason();
    }

    public Usage usage() {
        return finalDelta().usage();
    }
}
