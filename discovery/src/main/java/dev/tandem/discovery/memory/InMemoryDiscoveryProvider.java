package dev.tandem.discovery.memory;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import java.net.URI;

/** {@code memory:NAME} (any name; a URI needs one) — a fresh in-memory discovery. */
public final class InMemoryDiscoveryProvider implements DiscoveryProvider {

    @Override
    public String scheme() {
        return "memory";
    }

    @Override
    public Discovery create(URI uri) {
        return new InMemoryDiscovery();
    }
}
