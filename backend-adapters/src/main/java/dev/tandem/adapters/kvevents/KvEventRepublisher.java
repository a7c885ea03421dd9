package dev.tandem.adapters.kvevents;

import dev.tandem.api.kv.KvEvent;
import dev.tandem.api.kv.KvEventBatch;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.kv.KvStateDump;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Tandem side of an external engine's KV events: translates them ({@link KvEventTranslator}), publishes them as
 * batches with event ids increasing by one, drops the worker's blocks on a reset, and answers the cache dump with
 * what the published events add up to. Thread-safe: the feed's thread publishes, the request plane dumps.
 */
public final class KvEventRepublisher {

    private static final System.Logger LOG = System.getLogger(KvEventRepublisher.class.getName());

    private final String workerId;
    private final KvEventSink sink;
    private final KvEventTranslator translator;
    private final ReentrantLock lock = new ReentrantLock();
    private long eventId;
    private long resets;

    public KvEventRepublisher(String workerId, int blockSize, KvEventSink sink) {
        this.workerId = workerId;
        this.sink = sink;
        this.translator = new KvEventTranslator(blockSize);
    }

    public void publish(List<VllmEvent> events) {
        if (events.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            List<KvEvent> out = translator.translate(events);
            if (!out.isEmpty()) {
                sink.publish(new KvEventBatch(workerId, ++eventId, out));
            }
        } finally {
            lock.unlock();
        }
    }

    /** The engine's state is unknown from here on: its blocks leave the index before anything newer applies. */
    public void reset(String why) {
        LOG.log(
                System.Logger.Level.WARNING,
                "KV events of {0}: {1}; dropping its blocks from the index",
                workerId,
                why);
        lock.lock();
        try {
            resets++;
            translator.clear();
            sink.publish(new KvEventBatch(workerId, ++eventId, List.of(new KvEvent.AllBlocksCleared())));
        } finally {
            lock.unlock();
        }
    }

    public KvStateDump dump() {
        lock.lock();
        try {
            return new KvStateDump(workerId, eventId, translator.held());
        } finally {
            lock.unlock();
        }
    }

    public long resets() {
        lock.lock();
        try {
            return resets;
        } finally {
            lock.unlock();
        }
    }
}
