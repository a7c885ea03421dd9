package dev.tandem.orchestrator.router;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.ReentrantLock;

/** {@code power-of-two}: two distinct random workers, the one with fewer requests in flight (the first on a tie). */
public final class PowerOfTwoPolicy implements RoutingPolicy {

    private final ReentrantLock lock = new ReentrantLock();
    private final SplittableRandom random;

    public PowerOfTwoPolicy(long seed) {
        this.random = new SplittableRandom(seed);
    }

    @Override
    public String name() {
        return "power-of-two";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        int n = candidates.size();
        if (n == 1) {
            return 0;
        }
        int a;
        int b;
        lock.lock();
        try {
            a = random.nextInt(n);
            b = random.nextInt(n - 1);
        } finally {
            lock.unlock();
        }
        if (b >= a) {
            b++;
        }
        return candidates.get(b).load().requests() < candidates.get(a).load().requests() ? b : a;
    }
}
