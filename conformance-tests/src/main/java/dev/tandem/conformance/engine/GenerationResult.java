package dev.tandem.conformance.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * One request run through an engine, recorded: every delta in order, or the error it ended with (thrown by
 * {@code generate} or delivered to the listener, which the SPI allows both ways). Thread-safe.
 */
public final class GenerationResult {

    private final List<TokenDelta> deltas = new CopyOnWriteArrayList<>();
    private final CompletableFuture<EngineException> end = new CompletableFuture<>();
    private volatile Generation generation;

    private GenerationResult() {}

    /** Starts {@code r}; an error thrown at admission fails the test. */
    public static GenerationResult start(Engine engine, GenerateRequest r) {
        GenerationResult g = tryStart(engine, r);
        assertThat(g.end.isDone() ? g.error() : null)
                .as("request %s refused at admission", r.requestId())
                .isNull();
        return g;
    }

    /** Starts {@code r}; an error thrown at admission is recorded like one delivered later. */
    public static GenerationResult tryStart(Engine engine, GenerateRequest r) {
        GenerationResult g = new GenerationResult();
        try {
            g.generation = engine.generate(r, g.listener());
        } catch (EngineException e) {
            g.end.complete(e);
        }
        return g;
    }

    private TokenListener listener() {
        return new TokenListener() {
            @Override
            public void onDelta(TokenDelta d) {
                deltas.add(d);
                if (d.isFinal()) {
                    end.complete(null);
                }
            }

            @Override
            public void onError(EngineException e) {
                end.complete(e);
            }
        };
    }

    /** Waits for the final delta or the error. */
    public void await(Duration timeout) {
        try {
            end.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(
                    "the request did not end within " + timeout + " (" + deltas.size() + " deltas so far)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        } catch (ExecutionException e) {
            throw new AssertionError(e.getCause());
        }
    }

    /** Waits until at least {@code n} tokens have arrived. */
    public void awaitTokens(int n, Duration timeout) {
        eventually(n + " tokens", timeout, () -> tokenCount() >= n || end.isDone());
        assertThat(tokenCount()).as("tokens before the end").isGreaterThanOrEqualTo(n);
    }

    static void eventually(String what, Duration timeout, BooleanSupplier ok) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout + ": " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    /** Waits until some output (ids or text) has arrived. */
    public void awaitOutput(Duration timeout) {
        eventually("the first output", timeout, () -> tokenCount() > 0 || !text().isEmpty() || end.isDone());
        assertThat(tokenCount() > 0 || !text().isEmpty())
                .as("output before the end")
                .isTrue();
    }

    /** The text the engine sent with its deltas (engines without token ids). */
    public String text() {
        StringBuilder b = new StringBuilder();
        for (TokenDelta d : deltas) {
            if (d.text() != null) {
                b.append(d.text());
            }
        }
        return b.toString();
    }

    /** Asserts the request ended with a final delta, not an error. */
    public void assertFinished() {
        assertThat(end.isDone()).as("ended").isTrue();
        assertThat(error()).as("error").isNull();
    }

    public List<TokenDelta> deltas() {
        return List.copyOf(deltas);
    }

    public Generation generation() {
        return generation;
    }

    public EngineException error() {
        return end.isDone() ? end.join() : null;
    }

    public List<Integer> tokenIds() {
        List<Integer> out = new ArrayList<>();
        for (TokenDelta d : deltas) {
            for (int t : d.tokenIds()) {
                out.add(t);
            }
        }
        return out;
    }

    public int tokenCount() {
        int n = 0;
        for (TokenDelta d : deltas) {
            n += d.tokenIds().length;
        }
        return n;
    }

    public FinishReason finishReason() {
        return deltas.isEmpty() || !deltas.getLast().isFinal()
                ? null
                : deltas.getLast().finishReason();
    }

    public Usage finalUsage() {
        return deltas.isEmpty() ? null : deltas.getLast().usage();
    }
}
