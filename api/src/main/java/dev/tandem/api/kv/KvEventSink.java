package dev.tandem.api.kv;

/** Where an engine sends its KV events. Called from the engine thread: implementations must not block. */
@FunctionalInterface
public interface KvEventSink {

    KvEventSink NONE = batch -> {};

    void publish(KvEventBatch batch);
}
