package dev.tandem.api.engine;

/**
 * What an engine can do beyond generating, so that callers (the frontend, the router, the Engine TCK) use what is
 * there and degrade where it is not, instead of every backend having to fake every feature.
 *
 * @param tokenIdsOut deltas carry the generated token ids (needed for exact migration and token-id clients);
 *     without them only {@link TokenDelta#text()} comes back
 * @param kvEvents the engine publishes KV events on its sink (else the router predicts caches from its decisions)
 * @param kvCacheDump {@link Engine#dumpKvState()} returns the cached blocks (for router re-sync)
 * @param logprobs requests may ask for log-probabilities
 * @param seededSampling a seeded request samples the same tokens again
 * @param admissionLimit a full engine refuses with OVERLOADED ({@code maxWaiting}) rather than queueing elsewhere
 * @param prefixCacheUsage the final usage reports cached prompt tokens
 * @param disaggregation the engine can prefill for another worker or decode from transferred KV
 */
public record EngineCapabilities(
        boolean tokenIdsOut,
        boolean kvEvents,
        boolean kvCacheDump,
        boolean logprobs,
        boolean seededSampling,
        boolean admissionLimit,
        boolean prefixCacheUsage,
        boolean disaggregation) {

    /** The built-in engine's without a KV connector: everything but disaggregation. */
    public static final EngineCapabilities BUILT_IN =
            new EngineCapabilities(true, true, true, true, true, true, true, false);

    /** These capabilities with {@code disaggregation} set as given. */
    public EngineCapabilities withDisaggregation(boolean value) {
        return new EngineCapabilities(
                tokenIdsOut, kvEvents, kvCacheDump, logprobs, seededSampling, admissionLimit, prefixCacheUsage, value);
    }
}
