package dev.tandem.api.engine;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** Finds engine providers on the class path. */
public final class Engines {

    private Engines() {}

    public static List<EngineProvider> providers() {
        return ServiceLoader.load(EngineProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .toList();
    }

    /** The provider named {@code name}, or an INVALID_REQUEST error that lists the known names. */
    public static EngineProvider provider(String name) {
        List<EngineProvider> all = providers();
        for (EngineProvider p : all) {
            if (p.name().equals(name)) {
                if (!p.isAvailable()) {
                    throw new EngineException(
                            EngineException.Kind.UNAVAILABLE,
                            "engine '" + name + "' is not available here: " + p.unavailableReason());
                }
                return p;
            }
        }
        throw new EngineException(
                EngineException.Kind.INVALID_REQUEST,
                "unknown engine '" + name + "'; known: "
                        + all.stream().map(EngineProvider::name).sorted().collect(Collectors.joining(", ")));
    }
}
