package dev.tandem.orchestrator.router;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** {@code round-robin}: each request to the next worker in turn, blind to cache and load. */
public final class RoundRobinPolicy implements RoutingPolicy {

    private final AtomicLong next = new AtomicLong();

    @Override
    public String name() {
        return "round-robin";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        return (int) Math.floorMod(next.getAndIncrement(), (long) candidates.size());
    }
}
