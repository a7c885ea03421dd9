package dev.tandem.discovery.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.discovery.contract.DiscoveryContract;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** The discovery contract on the in-memory implementation, and what is particular to it. */
class InMemoryDiscoveryTest extends DiscoveryContract {

    @Override
    protected Discovery newDiscovery() {
        return new InMemoryDiscovery();
    }

    @Test
    void theMemorySchemeOpensAFreshDiscovery() throws Exception {
        try (Discovery a = DiscoveryProvider.open(URI.create("memory:local"));
                Discovery b = DiscoveryProvider.open(URI.create("memory:local"))) {
            assertThat(a).isInstanceOf(InMemoryDiscovery.class);
            a.put("k", bytes("v"), null);
            assertThat(a.list("")).hasSize(1);
            assertThat(b.list("")).isEmpty();
        }
        assertThatThrownBy(() -> DiscoveryProvider.open(URI.create("zookeeper://x")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
