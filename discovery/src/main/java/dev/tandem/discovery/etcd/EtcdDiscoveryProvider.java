package dev.tandem.discovery.etcd;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import java.net.URI;

/** {@code etcd://host:port[,host:port...]} — discovery on an etcd cluster (see {@link EtcdDiscovery}). */
public final class EtcdDiscoveryProvider implements DiscoveryProvider {

    @Override
    public String scheme() {
        return "etcd";
    }

    @Override
    public Discovery create(URI uri) {
        return EtcdDiscovery.connect(uri);
    }
}
