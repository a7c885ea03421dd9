package dev.tandem.api.kv.connector;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.kv.KvEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Connectors tried in order (vLLM's {@code MultiConnector}): a request's external tokens come from the first
 * connector that matches any; a finished request's blocks are held while any connector holds them; evictions,
 * steps, saves and completions reach every connector.
 */
public final class MultiConnector implements KvConnector {

    private record Metadata(List<ConnectorMetadata> parts) implements ConnectorMetadata {}

    private final List<KvConnector> connectors;
    /** Which connector loads each request's external tokens. */
    private final Map<String, KvConnector> owners = new HashMap<>();
    /** For each held request, how many connectors still hold it. */
    private final Map<String, Integer> holders = new HashMap<>();

    public MultiConnector(List<KvConnector> connectors) {
        if (connectors.isEmpty()) {
            throw new IllegalArgumentException("no connectors");
        }
        this.connectors = List.copyOf(connectors);
    }

    public List<KvConnector> connectors() {
        return connectors;
    }

    @Override
    public String name() {
        return "multi" + connectors.stream().map(KvConnector::name).toList();
    }

    @Override
    public void register(KvConnectorContext context) {
        connectors.forEach(c -> c.register(context));
    }

    @Override
    public MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens) {
        for (KvConnector c : connectors) {
            MatchedTokens m = c.matchedTokens(request, computedTokens);
            if (m.unknownYet()) {
                return m;
            }
            if (m.tokens() > 0) {
                owners.put(request.requestId(), c);
                return m;
            }
        }
        return MatchedTokens.NONE;
    }

    @Override
    public void afterAllocation(ConnectorRequest request, int[] blockIds, int computedTokens, int externalTokens) {
        KvConnector owner = owners.remove(request.requestId());
        if (owner != null) {
            owner.afterAllocation(request, blockIds, computedTokens, externalTokens);
        }
    }

    @Override
    public ConnectorMetadata buildMetadata() {
        // The scheduler allocates in the same step it matched: a match left here was not admitted, and is asked
        // again at a later step.
        owners.clear();
        List<ConnectorMetadata> parts = new ArrayList<>(connectors.size());
        for (KvConnector c : connectors) {
            parts.add(c.buildMetadata());
        }
        return new Metadata(parts);
    }

    @Override
    public FinishedRequest requestFinished(ConnectorRequest request, FinishReason reason, int[] blockIds) {
        owners.remove(request.requestId());
        int holding = 0;
        String params = null;
        for (KvConnector c : connectors) {
            FinishedRequest f = c.requestFinished(request, reason, blockIds);
            if (f.holdBlocks()) {
                holding++;
            }
            if (params == null) {
                params = f.kvTransferParams();
            }
        }
        if (holding > 0) {
            holders.put(request.requestId(), holding);
        }
        return new FinishedRequest(holding > 0, params);
    }

    @Override
    public void onBlockEvicted(int blockId, long blockHash, Long parentHash) {
        connectors.forEach(c -> c.onBlockEvicted(blockId, blockHash, parentHash));
    }

    @Override
    public List<KvEvent> takeEvents() {
        List<KvEvent> all = new ArrayList<>();
        connectors.forEach(c -> all.addAll(c.takeEvents()));
        return all;
    }

    @Override
    public void startLoad(ConnectorMetadata metadata) {
        for (int i = 0; i < connectors.size(); i++) {
            connectors.get(i).startLoad(part(metadata, i));
        }
    }

    @Override
    public void waitForLayerLoad(int layer) {
        connectors.forEach(c -> c.waitForLayerLoad(layer));
    }

    @Override
    public void saveLayer(int layer, ConnectorMetadata metadata) {
        for (int i = 0; i < connectors.size(); i++) {
            connectors.get(i).saveLayer(layer, part(metadata, i));
        }
    }

    @Override
    public void waitForSave() {
        connectors.forEach(KvConnector::waitForSave);
    }

    @Override
    public FinishedTransfers finished() {
        Set<String> sent = new HashSet<>();
        Set<String> received = new HashSet<>();
        for (KvConnector c : connectors) {
            FinishedTransfers f = c.finished();
            received.addAll(f.received());
            for (String id : f.sent()) {
                Integer left = holders.get(id);
                if (left == null || left <= 1) {
                    holders.remove(id);
                    sent.add(id);
                } else {
                    holders.put(id, left - 1);
                }
            }
        }
        return sent.isEmpty() && received.isEmpty() ? FinishedTransfers.NONE : new FinishedTransfers(sent, received);
    }

    @Override
    public Set<Integer> failedBlockLoads() {
        Set<Integer> all = new HashSet<>();
        connectors.forEach(c -> all.addAll(c.failedBlockLoads()));
        return all;
    }

    @Override
    public List<io.grpc.BindableService> services() {
        List<io.grpc.BindableService> all = new ArrayList<>();
        connectors.forEach(c -> all.addAll(c.services()));
        return all;
    }

    @Override
    public void advertise(String address) {
        connectors.forEach(c -> c.advertise(address));
    }

    @Override
    public void close() {
        connectors.forEach(KvConnector::close);
    }

    private static ConnectorMetadata part(ConnectorMetadata metadata, int i) {
        return metadata instanceof Metadata m ? m.parts().get(i) : ConnectorMetadata.EMPTY;
    }
}
