package dev.tandem.kvconnector.tier;

import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorProvider;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code tiers}: host memory and disk below the primary KV cache. Options: {@code host-bytes}, {@code disk-dir} with
 * {@code disk-bytes} (at least one tier).
 */
public final class TierConnectorProvider implements KvConnectorProvider {

    @Override
    public String name() {
        return "tiers";
    }

    @Override
    public KvConnector create(String workerId, Map<String, String> options) {
        Map<String, String> o = new HashMap<>(options);
        long host = Long.parseLong(o.getOrDefault("host-bytes", "0"));
        o.remove("host-bytes");
        String dir = o.remove("disk-dir");
        long disk = Long.parseLong(o.getOrDefault("disk-bytes", "0"));
        o.remove("disk-bytes");
        if (!o.isEmpty()) {
            throw new IllegalArgumentException(
                    "unknown tier connector options " + o.keySet() + " (host-bytes, disk-dir, disk-bytes)");
        }
        if ((dir == null) != (disk == 0)) {
            throw new IllegalArgumentException("disk-dir and disk-bytes go together");
        }
        return new TierConnector(host, dir == null ? null : Path.of(dir), disk);
    }
}
