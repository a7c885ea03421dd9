package dev.tandem.orchestrator.cli;

import dev.tandem.orchestrator.router.RoutingPolicies;
import dev.tandem.orchestrator.router.RoutingPolicy;
import picocli.CommandLine.Option;

/** {@code --router NAME}: the same flag and names in every command (a contract). */
final class RouterOption {

    @Option(
            names = "--router",
            defaultValue = RoutingPolicies.DEFAULT,
            description = "Routing policy: round-robin, random, least-loaded, power-of-two, kv, cache-aware, tandem"
                    + " (default: ${DEFAULT-VALUE}).")
    String name;

    /** A new policy, or an IllegalArgumentException listing the known names. */
    RoutingPolicy create(long seed) {
        return RoutingPolicies.create(name, seed);
    }
}
