package dev.tandem.api.discovery;

/** A change under a watched prefix. */
public sealed interface WatchEvent {

    long revision();

    record Put(KeyValue kv) implements WatchEvent {
        @Override
        public long revision() {
            return kv.revision();
        }
    }

    record Delete(String key, long revision) implements WatchEvent {}
}
