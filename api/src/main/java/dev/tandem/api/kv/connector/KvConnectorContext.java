package dev.tandem.api.kv.connector;

/**
 * What an engine gives its connector.
 *
 * @param engineId the worker's instance id (the {@code remote_engine_id} peers name it by)
 * @param store the engine's KV blocks in their layout; null for an engine that holds no KV bytes (a timing model),
 *     where connectors only account for what moves
 * @param wakeup wakes the engine's scheduling thread, so that a transfer completed while it idles is seen at once
 */
public record KvConnectorContext(String engineId, KvBlockStore store, Runnable wakeup) {}
