package dev.tandem.api.engine;

/** A request in flight on an engine. */
public interface Generation {

    String requestId();

    /**
     * Aborts the request and frees its KV blocks. Idempotent; the listener then receives a final delta with
     * {@link FinishReason#CANCELLED} unless the request had already finished.
     */
    void cancel();
}
