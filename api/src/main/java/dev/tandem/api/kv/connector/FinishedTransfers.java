package dev.tandem.api.kv.connector;

import java.util.Set;

/**
 * Asynchronous transfers that completed.
 *
 * @param sent requests whose held blocks may be freed (pulled by the peer, or their lease expired)
 * @param received requests whose loads are done (any failed blocks are in {@link KvConnector#failedBlockLoads()})
 */
public record FinishedTransfers(Set<String> sent, Set<String> received) {

    public static final FinishedTransfers NONE = new FinishedTransfers(Set.of(), Set.of());

    public FinishedTransfers {
        sent = Set.copyOf(sent);
        received = Set.copyOf(received);
    }

    public boolean isEmpty() {
        return sent.isEmpty() && received.isEmpty();
    }
}
