package dev.tandem.orchestrator.router;

import java.util.List;
import java.util.function.Supplier;

/** The policies by CLI name; the names are a contract shared by every command. */
public final class RoutingPolicies {

    public static final String DEFAULT = "tandem";

    private static final List<String> NAMES =
            List.of("round-robin", "random", "least-loaded", "power-of-two", "kv", "cache-aware", "tandem");

    private RoutingPolicies() {}

    public static List<String> names() {
        return NAMES;
    }

    /** A new policy instance; unknown names get an IllegalArgumentException listing the known ones. */
    public static RoutingPolicy create(String name) {
        return create(name, 0);
    }

    /** A new policy instance; {@code seed} drives the randomised ones. */
    public static RoutingPolicy create(String name, long seed) {
        Supplier<RoutingPolicy> s = switch (name) {
            case "round-robin" -> RoundRobinPolicy::new;
            case "random" -> () -> new RandomPolicy(seed);
            case "least-loaded" -> LeastLoadedPolicy::new;
            case "power-of-two" -> () -> new PowerOfTwoPolicy(seed);
            case "kv" -> KvAwarePolicy::new;
            case "cache-aware" -> CacheAwarePolicy::new;
            case "tandem" -> TandemPolicy::new;
            default ->
                throw new IllegalArgumentException("unknown router '" + name + "'; known: " + String.join(", ", NAMES));
        };
        return s.get();
    }
}
