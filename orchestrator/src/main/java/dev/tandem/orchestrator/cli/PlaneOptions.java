package dev.tandem.orchestrator.cli;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import java.io.IOException;
import java.net.URI;
import picocli.CommandLine.Option;

/** The flags that name the discovery and event planes, shared by the frontend and worker roles (a contract). */
final class PlaneOptions {

    @Option(names = "--discovery", required = true, description = "etcd://HOST:PORT (or memory:NAME in tests).")
    String discovery;

    @Option(names = "--events", required = true, description = "nats://HOST:PORT (or memory:NAME in tests).")
    String events;

    @Option(
            names = "--namespace",
            defaultValue = DiscoveryKeys.DEFAULT_NAMESPACE,
            description = "Namespace (default: ${DEFAULT-VALUE}).")
    String namespace;

    Discovery openDiscovery() throws IOException {
        return DiscoveryProvider.open(URI.create(discovery));
    }

    EventPlane openEvents() throws IOException {
        return EventPlaneProvider.open(URI.create(events));
    }
}
