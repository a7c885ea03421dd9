package dev.tandem.api.engine;

/**
 * Receives a request's deltas. Engines call it from their own scheduling thread, in order, one call at a time per
 * request: implementations must return quickly and never block (hand the delta to a queue).
 *
 * <p>Exactly one terminal signal arrives: a delta with {@link TokenDelta#isFinal()} or {@link #onError}.
 */
public interface TokenListener {

    void onDelta(TokenDelta delta);

    void onError(EngineException error);
}
