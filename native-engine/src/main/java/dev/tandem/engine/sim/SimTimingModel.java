package dev.tandem.engine.sim;

/**
 * Step durations of the {@code sim} backend: Dynamo's mocker model, fitted on real GPU runs.
 *
 * <p>{@code prefill_ms(t) = 4.209989e-07·t² + 1.518344e-02·t + 16.50142} for t new prompt tokens in the step, and
 * {@code decode_ms(p) = max(1, −25.74·p² + 54.01·p + 5.74)} for p = KV blocks in use ÷ total. A step pays for the
 * parts it contains.
 */
public final class SimTimingModel {

    private SimTimingModel() {}

    public static double prefillMillis(int newPromptTokens) {
        double t = newPromptTokens;
        return 4.209989e-07 * t * t + 1.518344e-02 * t + 16.50142;
    }

    public static double decodeMillis(double kvUsage) {
        return Math.max(1.0, -25.74 * kvUsage * kvUsage + 54.01 * kvUsage + 5.74);
    }

    /** The duration of a step with {@code prefillTokens} prompt tokens and {@code decodes} decoding sequences. */
    public static double stepMillis(int prefillTokens, int decodes, double kvUsage) {
        double ms = 0;
        if (prefillTokens > 0) {
            ms += prefillMillis(prefillTokens);
        }
        if (decodes > 0) {
            ms += decodeMillis(kvUsage);
        }
        return ms;
    }
}
