package dev.tandem.orchestrator.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.DiscoveryKeys;
import dev.tandem.api.discovery.DiscoveryProvider;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A worker's registration in discovery outlives the end of its lease, and not its deregistration. */
class WorkerHostTest {

    private static final String NS = "host";

    @Test
    void aWorkerWhoseLeaseEndsWhileItServesRegistersAgainUntilDeregistered() throws Exception {
        try (Discovery discovery = DiscoveryProvider.open(URI.create("memory:worker-host-test"));
                EventPlane events = EventPlaneProvider.open(URI.create("memory:worker-host-test"));
                Engine engine = Engines.provider("sim")
                        .create(EngineConfig.builder()
                                .workerId("w1")
                                .blockSize(16)
                                .kvBlocks(64)
                                .build())) {
            Duration ttl = Duration.ofSeconds(10);
            Lease first = discovery.grantLease(ttl);
            WorkerHost host = WorkerHost.start(NS, "w1", engine, "127.0.0.1:1", discovery, events, first, ttl);
            try {
                assertThat(registered(discovery)).containsExactly("w1");

                first.revoke(); // the lease ends under the worker (as when etcd was unreachable for a whole TTL)
                assertThat(first.isAlive()).isFalse();
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (registered(discovery).isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(registered(discovery)).as("registered again").containsExactly("w1");
                assertThat(discovery.list(DiscoveryKeys.modelsPrefix(NS)))
                        .extracting(kv -> DiscoveryKeys.instanceIdOf(kv.key()))
                        .containsExactly("w1");

                host.deregister();
                assertThat(registered(discovery)).isEmpty();
                Thread.sleep(4 * WorkerHost.REGISTRATION_CHECK_MS);
                assertThat(registered(discovery))
                        .as("a deregistered worker stays away")
                        .isEmpty();
            } finally {
                host.close();
            }
        }
    }

    private static List<String> registered(Discovery discovery) throws Exception {
        return discovery.list(DiscoveryKeys.ROOT + "instances/" + NS + "/").stream()
                .map(KeyValue::key)
                .map(DiscoveryKeys::instanceIdOf)
                .toList();
    }
}
