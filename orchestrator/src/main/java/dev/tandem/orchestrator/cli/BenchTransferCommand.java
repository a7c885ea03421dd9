package dev.tandem.orchestrator.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.kv.connector.KvLayout;
import dev.tandem.orchestrator.bench.TransferBenchmark;
import dev.tandem.orchestrator.frontend.Json;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench transfer}: KV blocks moved between two workers through the peer connector over loopback gRPC,
 * next to a plain TCP copy in the same run. Flags and JSON fields are a contract.
 */
@Command(
        name = "transfer",
        mixinStandardHelpOptions = true,
        description = "Measure KV transfer between two workers (peer connector over loopback gRPC) against TCP.")
public final class BenchTransferCommand implements Callable<Integer> {

    /** The 8B Llama shape: 32 layers, 8 KV heads of 128, keys and values in bf16. */
    static final int LAYERS = 32;

    static final int KV_HEADS = 8;

    @Option(
            names = "--tokens",
            defaultValue = "8192",
            description = "Tokens of KV per transfer (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(
            names = "--kv-bytes-per-token",
            defaultValue = "131072",
            description = "KV bytes per token: 32 layers x 8 KV heads x head dim x K and V x bf16; the head dim is"
                    + " derived (default: ${DEFAULT-VALUE}, the 8B Llama shape).")
    long kvBytesPerToken;

    @Option(
            names = "--block-size",
            defaultValue = "64",
            description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(
            names = "--seconds",
            defaultValue = "2",
            description = "Repeat transfers until at least this long has passed (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--json", description = "Print one compact JSON object on the last stdout line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        long perHeadDim = 2L * 2 * LAYERS * KV_HEADS; // K and V, bf16
        if (kvBytesPerToken < perHeadDim || kvBytesPerToken % perHeadDim != 0) {
            throw new IllegalArgumentException("--kv-bytes-per-token must be a multiple of " + perHeadDim
                    + " (32 layers x 8 KV heads x K,V x" + " bf16)");
        }
        if (tokens < 1 || blockSize < 1 || !(seconds > 0)) {
            throw new IllegalArgumentException("--tokens, --block-size and --seconds must be positive");
        }
        KvLayout layout = new KvLayout(blockSize, LAYERS, KV_HEADS, (int) (kvBytesPerToken / perHeadDim), "bf16");
        TransferBenchmark.Result r = TransferBenchmark.run(layout, tokens, seconds);
        ObjectNode o = Json.object();
        o.put("gbytes_per_s", round(r.gbytesPerSecond()));
        o.put("bytes", r.bytes());
        o.put("blocks", r.blocks());
        o.put("transfers", r.transfers());
        o.put("seconds", round(r.seconds()));
        o.put("tokens", tokens);
        o.put("kv_bytes_per_token", kvBytesPerToken);
        o.put("block_size", blockSize);
        o.put("tcp_gbytes_per_s", round(r.tcpGbytesPerSecond()));
        o.put("ratio_to_tcp", round(r.gbytesPerSecond() / r.tcpGbytesPerSecond()));
        System.err.printf(
                "tandem: KV transfer %.2f GB/s (%d transfers of %d tokens), plain TCP %.2f GB/s (%.2fx)%n",
                r.gbytesPerSecond(),
                r.transfers(),
                tokens,
                r.tcpGbytesPerSecond(),
                r.gbytesPerSecond() / r.tcpGbytesPerSecond());
        System.out.println(json ? Json.text(o) : o.toPrettyString());
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
