package dev.tandem.orchestrator.runtime;

import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which KV connectors a built-in worker gets, tried in this order: {@code peer} (worker-to-worker transfer, on by
 * default), {@code host} (an off-heap tier of {@code hostKvBytes}), {@code disk} (a tier of {@code diskKvBytes} in
 * {@code diskKvDir}; below the host tier when both are set).
 *
 * @param peer transfer KV between workers (disaggregation, cross-worker prefix reuse)
 * @param hostKvBytes 0 for no host tier
 * @param diskKvDir null for no disk tier
 * @param diskKvBytes the disk tier's budget (with {@code diskKvDir})
 */
public record KvConnectorSettings(boolean peer, long hostKvBytes, Path diskKvDir, long diskKvBytes) {

    public static final KvConnectorSettings PEER_ONLY = new KvConnectorSettings(true, 0, null, 0);

    public KvConnectorSettings {
        if (hostKvBytes < 0 || diskKvBytes < 0) {
            throw new IllegalArgumentException("KV tier sizes must be >= 0");
        }
        if ((diskKvDir == null) != (diskKvBytes == 0)) {
            throw new IllegalArgumentException("--disk-kv-dir and --disk-kv-bytes go together");
        }
    }

    /** The connector of worker {@code workerId}, or null when none is configured. */
    public KvConnector create(String workerId) {
        List<String> names = new ArrayList<>();
        Map<String, Map<String, String>> options = new LinkedHashMap<>();
        if (peer) {
            names.add("peer");
        }
        if (hostKvBytes > 0 || diskKvDir != null) {
            Map<String, String> tier = new LinkedHashMap<>();
            if (hostKvBytes > 0) {
                tier.put("host-bytes", String.valueOf(hostKvBytes));
            }
            if (diskKvDir != null) {
                tier.put("disk-dir", diskKvDir.resolve(workerId).toString());
                tier.put("disk-bytes", String.valueOf(diskKvBytes));
            }
            names.add("tiers");
            options.put("tiers", tier);
        }
        return KvConnectors.create(names, workerId, options);
    }
}
