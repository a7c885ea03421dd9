package dev.tandem.orchestrator.bench;

import dev.tandem.api.kv.connector.ConnectorRequest;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.api.kv.connector.KvConnectorContext;
import dev.tandem.api.kv.connector.MatchedTokens;

/**
 * The decode side of a remote prefill in a replay: the sim holds no KV bytes, so a request whose transfer the replay
 * has already timed ({@code {"sim_transferred_tokens": N}}) is admitted with its first N tokens computed, as the
 * peer connector admits a request whose blocks arrived.
 */
final class SimulatedTransfer implements KvConnector {

    static String params(int tokens) {
        return "{\"sim_transferred_tokens\":" + tokens + "}";
    }

    @Override
    public String name() {
        return "sim-transfer";
    }

    @Override
    public void register(KvConnectorContext context) {}

    @Override
    public MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens) {
        String p = request.kvTransferParams();
        if (p == null || !p.startsWith("{\"sim_transferred_tokens\":")) {
            return MatchedTokens.NONE;
        }
        int tokens = Integer.parseInt(p.substring(p.indexOf(':') + 1, p.length() - 1));
        int n = tokens - computedTokens;
        return n > 0 ? new MatchedTokens(n, false, false, false) : MatchedTokens.NONE;
    }
}
