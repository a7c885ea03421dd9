package dev.tandem.api.kv;

import java.util.List;

/**
 * Events of one worker published together. {@code eventId} increases by exactly one per batch of a worker, so a
 * consumer that sees a gap knows it missed something and re-syncs from {@link KvStateDump}.
 *
 * @param incarnation which start of the worker published the batch (a random id per engine start, 0 when unknown):
 *     a worker restarted under the same instance id numbers its batches from 1 again, and a consumer that sees a new
 *     incarnation drops what it knew of the old one instead of taking the new ids for duplicates
 */
public record KvEventBatch(String workerId, long eventId, List<KvEvent> events, long incarnation) {

    public KvEventBatch {
        events = List.copyOf(events);
    }

    public KvEventBatch(String workerId, long eventId, List<KvEvent> events) {
        this(workerId, eventId, events, 0);
    }

    /** The same batch, stamped with {@code incarnation}. */
    public KvEventBatch withIncarnation(long incarnation) {
        return new KvEventBatch(workerId, eventId, events, incarnation);
    }
}
