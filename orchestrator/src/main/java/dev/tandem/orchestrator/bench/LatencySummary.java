package dev.tandem.orchestrator.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.orchestrator.frontend.Json;
import java.util.Arrays;

/** Average, nearest-rank percentiles and maximum of a sample, in milliseconds. */
public record LatencySummary(double avg, double p50, double p90, double p99, double max) {

    public static LatencySummary of(double[] values) {
        if (values.length == 0) {
            return new LatencySummary(0, 0, 0, 0, 0);
        }
        double[] v = values.clone();
        Arrays.sort(v);
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return new LatencySummary(sum / v.length, rank(v, 0.50), rank(v, 0.90), rank(v, 0.99), v[v.length - 1]);
    }

    private static double rank(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** {@code {"avg":…,"p50":…,"p90":…,"p99":…,"max":…}}, to the microsecond. */
    public ObjectNode json() {
        ObjectNode o = Json.object();
        o.put("avg", round(avg));
        o.put("p50", round(p50));
        o.put("p90", round(p90));
        o.put("p99", round(p99));
        o.put("max", round(max));
        return o;
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
