package dev.tandem.orchestrator.router;

import java.util.List;

/** {@code least-loaded}: the worker with the fewest requests in flight; ties to the first in order. */
public final class LeastLoadedPolicy implements RoutingPolicy {

    @Override
    public String name() {
        return "least-loaded";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        int best = 0;
        for (int i = 1; i < candidates.size(); i++) {
            if (candidates.get(i).load().requests()
                    < candidates.get(best).load().requests()) {
                best = i;
            }
        }
        return best;
    }
}
