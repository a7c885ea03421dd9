package dev.tandem.orchestrator.cli;

import dev.tandem.orchestrator.runtime.KvConnectorSettings;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The built-in engine's KV connectors: memory tiers below the primary cache ({@code serve} and {@code worker}). */
final class KvTierOptions {

    @Option(
            names = "--host-kv-bytes",
            description = "An off-heap host-memory tier of this size (e.g. 64MiB, 8GiB): KV blocks evicted from the"
                    + " primary cache are kept there and come back on a later prefix hit (default: none).")
    String hostKvBytes;

    @Option(
            names = "--disk-kv-dir",
            description = "A disk tier in this directory (with --disk-kv-bytes), below the host tier or alone.")
    Path diskKvDir;

    @Option(names = "--disk-kv-bytes", description = "The disk tier's size (e.g. 8GiB).")
    String diskKvBytes;

    KvConnectorSettings settings() {
        long host = hostKvBytes == null ? 0 : ByteSize.parse(hostKvBytes);
        long disk = diskKvBytes == null ? 0 : ByteSize.parse(diskKvBytes);
        if ((diskKvDir == null) != (diskKvBytes == null)) {
            throw new IllegalArgumentException("--disk-kv-dir and --disk-kv-bytes go together");
        }
        if (diskKvDir != null && disk == 0) {
            throw new IllegalArgumentException("--disk-kv-bytes must be > 0");
        }
        return new KvConnectorSettings(true, host, diskKvDir, disk);
    }
}
