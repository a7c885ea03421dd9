package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.Usage;

/**
 * Receives one prompt's output as text pieces. Called on the request's virtual thread; an exception thrown here
 * (the client went away) cancels the generation.
 */
interface GenerationObserver {

    /**
     * New text (possibly empty when ids arrived that complete no character yet), the ids behind it, and their
     * log-probabilities when the request asked for them (else null).
     */
    void onText(String text, int[] tokenIds, java.util.List<dev.tandem.api.engine.TokenLogprob> logprobs);

    void onFinish(FinishReason reason, Usage usage);
}
