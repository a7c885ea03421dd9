package dev.tandem.orchestrator.frontend;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code --rate-limit N}: at most N requests per second per API key (a token bucket per key holding up to N, refilled
 * at N per second, so a burst of N passes and the sustained rate is N). Without API keys every client shares one
 * bucket. A refused request learns how long until a token is back ({@code Retry-After}).
 */
public final class RateLimiter {

    private final double perSecond;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    private static final class Bucket {
        private double tokens;
        private long lastNanos;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.lastNanos = now;
        }
    }

    public RateLimiter(double perSecond) {
        if (!(perSecond > 0)) {
            throw new IllegalArgumentException("--rate-limit must be > 0, not " + perSecond);
        }
        this.perSecond = perSecond;
    }

    public double perSecond() {
        return perSecond;
    }

    /**
     * Takes a token from {@code client}'s bucket.
     *
     * @return 0 when the request may pass, else the seconds until it could (at least 1, for {@code Retry-After})
     */
    public long acquire(String client, long nowNanos) {
        Bucket b = buckets.computeIfAbsent(client, c -> new Bucket(perSecond, nowNanos));
        synchronized (b) {
            b.tokens = Math.min(perSecond, b.tokens + (nowNanos - b.lastNanos) / 1e9 * perSecond);
            b.lastNanos = nowNanos;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - b.tokens) / perSecond));
        }
    }
}
