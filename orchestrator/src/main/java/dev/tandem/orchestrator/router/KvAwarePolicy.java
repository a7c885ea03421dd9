package dev.tandem.orchestrator.router;

import java.util.List;

/**
 * {@code kv}: Dynamo's KV-aware cost, {@code cost = (uncached prompt blocks + pending prefill blocks on the worker) +
 * active KV blocks on the worker including the new request's}, each with weight 1; argmin, ties to the worker with
 * fewer requests in flight, then to the first in order.
 */
public final class KvAwarePolicy implements RoutingPolicy {

    @Override
    public String name() {
        return "kv";
    }

    @Override
    public int choose(RoutingRequest request, List<Candidate> candidates) {
        int best = -1;
        double bestCost = Double.MAX_VALUE;
        int blocks = request.promptBlocks();
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            double pendingPrefillBlocks = (double) c.load().prefillTokens() / request.blockSize();
            double prefill = (blocks - c.overlapBlocks()) + pendingPrefillBlocks;
            double decode = c.load().blocks() + blocks;
            double cost = prefill + decode;
            if (best < 0
                    || cost < bestCost
                    || (cost == bestCost
                            && c.load().requests() < candidates.get(best).load().requests())) {
                best = i;
                bestCost = cost;
            }
        }
        return best;
    }
}
