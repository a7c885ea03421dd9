package dev.tandem.discovery.memory;

import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import java.net.URI;

/** {@code memory:NAME} (any name; a URI needs one) — a fresh in-process event plane. */
public final class InMemoryEventPlaneProvider implements EventPlaneProvider {

    @Override
    public String scheme() {
        return "memory";
    }

    @Override
    public EventPlane create(URI uri) {
        return new InMemoryEventPlane();
    }
}
