package dev.tandem.kvconnector.peer;

import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorProvider;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** {@code peer}: worker-to-worker transfer. Options: {@code lease-ms} (30,000), {@code pull-timeout-ms} (30,000). */
public final class PeerConnectorProvider implements KvConnectorProvider {

    @Override
    public String name() {
        return "peer";
    }

    @Override
    public KvConnector create(String workerId, Map<String, String> options) {
        Map<String, String> o = new HashMap<>(options);
        Duration lease = millis(o.remove("lease-ms"), PeerKvConnector.DEFAULT_LEASE);
        Duration timeout = millis(o.remove("pull-timeout-ms"), PeerKvConnector.DEFAULT_PULL_TIMEOUT);
        if (!o.isEmpty()) {
            throw new IllegalArgumentException(
                    "unknown peer connector options " + o.keySet() + " (lease-ms, pull-timeout-ms)");
        }
        return new PeerKvConnector(workerId, lease, timeout);
    }

    private static Duration millis(String v, Duration fallback) {
        if (v == null) {
            return fallback;
        }
        long ms = Long.parseLong(v);
        if (ms <= 0) {
            throw new IllegalArgumentException("must be positive: " + v);
        }
        return Duration.ofMillis(ms);
    }
}
