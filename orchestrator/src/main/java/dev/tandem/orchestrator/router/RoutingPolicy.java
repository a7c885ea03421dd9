package dev.tandem.orchestrator.router;

import java.util.List;

/**
 * Chooses a worker for a request. Implementations may keep state (a round-robin cursor) but must be thread-safe:
 * requests are routed concurrently.
 */
public interface RoutingPolicy {

    /** The name used on the CLI ({@code --router NAME}). */
    String name();

    /**
     * @param candidates non-empty, in a stable order (by worker id)
     * @return the index of the chosen candidate
     */
    int choose(RoutingRequest request, List<Candidate> candidates);

    /**
     * A request was routed to {@code workerId}, by this router (right after {@link #choose}) or by a replica sharing
     * the workers.
     */
    default void onRouted(RoutingRequest request, String workerId) {}

    /** A routed request produced its first token (its prompt's KV now exists). */
    default void onFirstToken(String requestId) {}

    /** The request ended (completed, failed or cancelled). */
    default void onFinish(String requestId) {}
}
