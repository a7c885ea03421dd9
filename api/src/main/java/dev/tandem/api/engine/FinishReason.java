package dev.tandem.api.engine;

/** Why a request stopped generating. */
public enum FinishReason {
    /** An EOS id, a stop token id or a stop string ended it. */
    STOP("stop"),
    /** It reached max_tokens or the context length. */
    LENGTH("length"),
    /** The caller cancelled it (client disconnect, abort). */
    CANCELLED("abort"),
    /** The engine failed it. */
    ERROR("error");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** The value of {@code finish_reason} in the OpenAI API. */
    public String openAiName() {
        return openAiName;
    }
}
