package dev.tandem.api.kv.connector;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/** Finds connector providers by name and composes connectors. */
public final class KvConnectors {

    private KvConnectors() {}

    /** The provider called {@code name}. */
    public static KvConnectorProvider provider(String name) {
        List<String> known = new ArrayList<>();
        for (KvConnectorProvider p : ServiceLoader.load(KvConnectorProvider.class)) {
            if (p.name().equals(name)) {
                return p;
            }
            known.add(p.name());
        }
        throw new IllegalArgumentException("no KV connector '" + name + "' (available: " + known + ")");
    }

    /**
     * One connector from {@code names} in order, each made with {@code options} (each provider takes the keys it
     * knows, so unknown keys are not checked here); a {@link MultiConnector} when there are several, null for none.
     */
    public static KvConnector create(List<String> names, String workerId, Map<String, Map<String, String>> options) {
        List<KvConnector> made = new ArrayList<>();
        for (String n : names) {
            made.add(provider(n).create(workerId, options.getOrDefault(n, Map.of())));
        }
        return switch (made.size()) {
            case 0 -> null;
            case 1 -> made.getFirst();
            default -> new MultiConnector(made);
        };
    }
}
