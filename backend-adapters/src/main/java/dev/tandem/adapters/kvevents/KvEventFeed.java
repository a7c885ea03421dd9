package dev.tandem.adapters.kvevents;

import dev.tandem.api.kv.KvStateDump;

/**
 * Where a launched engine's KV events come from (a ZMQ subscription, a polled endpoint), republished as Tandem
 * batches on the worker's sink. Owns its thread.
 */
public interface KvEventFeed extends AutoCloseable {

    void start();

    /** The engine restarted and is ready: its cache is empty and its event numbering starts again. */
    void publisherRestarted();

    /** The engine exited: stop reaching for it until {@link #publisherRestarted()}. */
    default void publisherStopped() {}

    /** The blocks held now, as of the last event id published. */
    KvStateDump dump();

    @Override
    void close();
}
