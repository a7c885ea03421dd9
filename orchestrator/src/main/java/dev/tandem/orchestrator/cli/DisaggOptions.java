package dev.tandem.orchestrator.cli;

import dev.tandem.orchestrator.frontend.Disaggregation;
import picocli.CommandLine.Option;

/** When a frontend prefills on another worker than the decoder ({@code serve} and {@code frontend}). */
final class DisaggOptions {

    @Option(
            names = "--max-local-prefill-tokens",
            defaultValue = "1000",
            description = "Prompt tokens not cached on the decode worker above which the prompt is prefilled on a"
                    + " prefill worker; 0 sends every prefill to a prefill worker while one is alive (default:"
                    + " ${DEFAULT-VALUE}).")
    int maxLocalPrefillTokens;

    @Option(
            names = "--max-prefill-queue-tokens",
            description = "A prefill worker with this many prefill tokens queued takes no more remote prefills"
                    + " (default: 4 x the engines' batched-token budget, 32768).")
    Long maxPrefillQueueTokens;

    @Option(
            names = "--peer-kv-min-tokens",
            defaultValue = "256",
            description = "When another worker caches at least this many more prompt tokens than the chosen one, the"
                    + " chosen worker pulls them from it instead of recomputing (default: ${DEFAULT-VALUE}).")
    int peerKvMinTokens;

    Disaggregation settings() {
        return new Disaggregation(
                maxLocalPrefillTokens,
                maxPrefillQueueTokens == null ? Disaggregation.DEFAULTS.maxPrefillQueueTokens() : maxPrefillQueueTokens,
                peerKvMinTokens);
    }
}
