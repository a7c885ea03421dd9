package dev.tandem.api.discovery;

import java.io.IOException;
import java.net.URI;
import java.util.ServiceLoader;

/** Creates a {@link Discovery} for a URI scheme ({@code memory:local}, {@code etcd://host:port}); a ServiceLoader SPI. */
public interface DiscoveryProvider {

    String scheme();

    Discovery create(URI uri) throws IOException;

    /** The provider for {@code uri}'s scheme. */
    static Discovery open(URI uri) throws IOException {
        for (DiscoveryProvider p : ServiceLoader.load(DiscoveryProvider.class)) {
            if (p.scheme().equals(uri.getScheme())) {
                return p.create(uri);
            }
        }
        throw new IllegalArgumentException("no discovery provider for scheme '" + uri.getScheme() + "' in " + uri);
    }
}
