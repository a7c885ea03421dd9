package dev.tandem.orchestrator.router;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.ReentrantLock;

/** {@code random}: a uniformly random worker (seeded, so replays reproduce). */
public final class RandomPolicy implements RoutingPolicy {

    private final ReentrantLock lock = new ReentrantLock();
    private final SplittableRandom random;

    public RandomPolicy(long seed) {
        this.random = new SplittableRandom(seed);
    }

    @Override
    public String name() {
        return "random";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        lock.lock();
        try {
            return random.nextInt(candidates.size());
        } finally {
            lock.unlock();
        }
    }
}
