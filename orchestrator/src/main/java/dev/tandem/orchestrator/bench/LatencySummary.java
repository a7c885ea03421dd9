package dev.tandem.orchestrator.bench;

import java.util.Arrays;

/** Average and nearest-rank percentiles of a sample, in milliseconds. */
public record LatencySummary(double avg, double p50, double p90, double p99) {

    public static LatencySummary of(double[] values) {
        if (values.length == 0) {
            return new LatencySummary(0, 0, 0, 0);
        }
        double[] v = values.clone();
        Arrays.sort(v);
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return new LatencySummary(sum / v.length, rank(v, 0.50), rank(v, 0.90), rank(v, 0.99));
    }

    private static double rank(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
