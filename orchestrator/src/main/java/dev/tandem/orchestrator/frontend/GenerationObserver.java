package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.Usage;

/**
 * Receives one prompt's output as text pieces. Called on the request's virtual thread; an exception thrown here
 * (the client went away) cancels the generation.
 */
interface GenerationObserver {

    /** New text (possibly empty when ids arrived that complete no character yet) and the ids behind it. */
    void onText(String text, int[] tokenIds);

    void onFinish(FinishReason reason, Usage usage);
}
