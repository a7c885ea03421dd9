package dev.tandem.api.kv;

import java.util.List;

/**
 * Events of one worker published together. {@code eventId} increases by exactly one per batch of a worker, so a
 * consumer that sees a gap knows it missed something and re-syncs from {@link KvStateDump}.
 */
public record KvEventBatch(String workerId, long eventId, List<KvEvent> events) {

    public KvEventBatch {
        events = List.copyOf(events);
    }
}
