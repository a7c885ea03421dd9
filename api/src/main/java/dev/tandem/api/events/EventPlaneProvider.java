package dev.tandem.api.events;

import java.io.IOException;
import java.net.URI;
import java.util.ServiceLoader;

/** Creates an {@link EventPlane} for a URI scheme ({@code memory:local}, {@code nats://host:port}); a ServiceLoader SPI. */
public interface EventPlaneProvider {

    String scheme();

    EventPlane create(URI uri) throws IOException;

    static EventPlane open(URI uri) throws IOException {
        for (EventPlaneProvider p : ServiceLoader.load(EventPlaneProvider.class)) {
            if (p.scheme().equals(uri.getScheme())) {
                return p.create(uri);
            }
        }
        throw new IllegalArgumentException("no event plane provider for scheme '" + uri.getScheme() + "' in " + uri);
    }
}
