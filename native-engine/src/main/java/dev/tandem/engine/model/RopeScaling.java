package dev.tandem.engine.model;

/**
 * Llama 3.1's RoPE frequency scaling ({@code rope_scaling.rope_type = "llama3"}): wavelengths shorter than
 * {@code originalMaxPositions / highFreqFactor} keep their frequency, those longer than
 * {@code originalMaxPositions / lowFreqFactor} are divided by {@code factor}, and those in between are interpolated
 * with {@code smooth = (originalMaxPositions / wavelength − lowFreqFactor) / (highFreqFactor − lowFreqFactor)}:
 * {@code (1 − smooth) · f / factor + smooth · f}.
 */
public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, double originalMaxPositions) {

    public RopeScaling {
        if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || !(originalMaxPositions > 0)) {
            throw new IllegalArgumentException("invalid llama3 rope scaling " + this);
        }
    }

    /** The scaled inverse frequency of one rotary pair. */
    public double apply(double inverseFrequency) {
        double wavelength = 2 * Math.PI / inverseFrequency;
        double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
        double highFreqWavelength = originalMaxPositions / highFreqFactor;
        if (wavelength < highFreqWavelength) {
            return inverseFrequency;
        }
        if (wavelength > lowFreqWavelength) {
            return inverseFrequency / factor;
        }
        double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * inverseFrequency / factor + smooth * inverseFrequency;
    }
}
