package dev.tandem.orchestrator.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.orchestrator.frontend.Json;

/**
 * The outcome of a trace replay; {@link #toJson()} is the {@code --json} contract of {@code tandem bench replay}.
 *
 * @param requests requests completed
 * @param completionTokens tokens generated
 * @param ttftMs time to first token, from the request's scaled arrival
 * @param itlMs per-request mean inter-token latency
 * @param e2eMs arrival to last token
 * @param throughputTokS generated tokens ÷ virtual time from first arrival to last completion
 * @param prefixHitRate prompt tokens served from cache ÷ prompt tokens
 * @param loadImbalance max ÷ mean prompt tokens routed per worker
 * @param preemptions sequences preempted (recomputed) over the run
 * @param wallSeconds real time the replay took
 * @param goodput requests within the latency limits per second, and the disaggregation accounting
 */
public record ReplayReport(
        String router,
        int workers,
        double timeScale,
        int requests,
        long completionTokens,
        LatencySummary ttftMs,
        LatencySummary itlMs,
        LatencySummary e2eMs,
        double throughputTokS,
        double prefixHitRate,
        double loadImbalance,
        long preemptions,
        int blockSize,
        int kvBlocks,
        double wallSeconds,
        Goodput goodput) {

    /**
     * @param goodputReqS requests meeting both limits (all completed ones without limits) ÷ the time from the first
     *     arrival to the last completion
     * @param sloAttainment the share of completed requests meeting both limits
     * @param slo the limits, or null
     * @param kvTransferBytes KV bytes moved from prefill to decode workers
     */
    public record Goodput(
            double goodputReqS,
            double sloAttainment,
            TraceReplay.Slo slo,
            int prefillWorkers,
            int decodeWorkers,
            long kvTransferBytes,
            long kvBytesPerToken) {}

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("requests", requests);
        o.put("completion_tokens", completionTokens);
        o.set("ttft_ms", ttftMs.json());
        o.set("itl_ms", itlMs.json());
        o.set("e2e_ms", e2eMs.json());
        o.put("throughput_tok_s", round(throughputTokS));
        o.put("prefix_hit_rate", Math.round(prefixHitRate * 1e6) / 1e6);
        o.put("load_imbalance", Math.round(loadImbalance * 1e4) / 1e4);
        o.put("router", router);
        o.put("workers", workers);
        o.put("time_scale", timeScale);
        o.put("preemptions", preemptions);
        o.put("block_size", blockSize);
        o.put("kv_blocks", kvBlocks);
        o.put("wall_s", round(wallSeconds));
        o.put("goodput_req_s", round(goodput.goodputReqS()));
        o.put("slo_attainment", Math.round(goodput.sloAttainment() * 1e4) / 1e4);
        if (goodput.slo() != null) {
            o.put("ttft_slo_ms", goodput.slo().ttftMs());
            o.put("itl_slo_ms", goodput.slo().itlMs());
        }
        o.put("prefill_workers", goodput.prefillWorkers());
        o.put("decode_workers", goodput.decodeWorkers());
        o.put("kv_transfer_bytes", goodput.kvTransferBytes());
        o.put("kv_bytes_per_token", goodput.kvBytesPerToken());
        return o;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
