package dev.tandem.api.kv.connector;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.api.engine.FinishReason;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Connectors tried in order, as vLLM's MultiConnector composes them. */
class MultiConnectorTest {

    /** A connector that matches a fixed count and records what reaches it. */
    private static final class Fake implements KvConnector {
        final int matches;
        final boolean holds;
        final List<String> allocated = new ArrayList<>();
        final Set<String> sent = new HashSet<>();
        final Set<Integer> failed = new HashSet<>();

        Fake(int matches, boolean holds) {
            this.matches = matches;
            this.holds = holds;
        }

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public void register(KvConnectorContext context) {}

        @Override
        public MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens) {
            return matches > 0 ? new MatchedTokens(matches, false, true, true) : MatchedTokens.NONE;
        }

        @Override
        public void afterAllocation(ConnectorRequest request, int[] blockIds, int computed, int external) {
            allocated.add(request.requestId());
        }

        @Override
        public FinishedRequest requestFinished(ConnectorRequest request, FinishReason reason, int[] blockIds) {
            return holds ? new FinishedRequest(true, "{\"from\":\"" + matches + "\"}") : FinishedRequest.RELEASE;
        }

        @Override
        public FinishedTransfers finished() {
            FinishedTransfers f = new FinishedTransfers(sent, Set.of());
            sent.clear();
            return f;
        }

        @Override
        public Set<Integer> failedBlockLoads() {
            Set<Integer> f = Set.copyOf(failed);
            failed.clear();
            return f;
        }
    }

    private static ConnectorRequest request(String id) {
        return new ConnectorRequest(id, new int[8], 8, 8, 0, new long[0], null);
    }

    @Test
    void theFirstConnectorThatMatchesLoadsTheRequest() {
        Fake none = new Fake(0, false);
        Fake first = new Fake(4, false);
        Fake second = new Fake(6, false);
        MultiConnector multi = new MultiConnector(List.of(none, first, second));
        assertThat(multi.matchedTokens(request("r"), 0).tokens()).isEqualTo(4);
        multi.afterAllocation(request("r"), new int[] {1}, 0, 4);
        assertThat(first.allocated).containsExactly("r");
        assertThat(second.allocated).isEmpty();
    }

    @Test
    void aMatchNotFollowedByAnAllocationInItsStepIsForgotten() {
        Fake first = new Fake(4, false);
        MultiConnector multi = new MultiConnector(List.of(first));
        multi.matchedTokens(request("r"), 0);
        multi.buildMetadata(); // the step ends without admitting r
        multi.afterAllocation(request("r"), new int[] {1}, 0, 4);
        assertThat(first.allocated).isEmpty();
    }

    @Test
    void blocksHeldByTwoConnectorsAreFreedOnlyWhenBothAreDone() {
        Fake a = new Fake(0, true);
        Fake b = new Fake(0, true);
        MultiConnector multi = new MultiConnector(List.of(a, b));
        FinishedRequest f = multi.requestFinished(request("r"), FinishReason.LENGTH, new int[] {1, 2});
        assertThat(f.holdBlocks()).isTrue();
        assertThat(f.kvTransferParams()).isEqualTo("{\"from\":\"0\"}");
        a.sent.add("r");
        assertThat(multi.finished().sent()).isEmpty();
        b.sent.add("r");
        assertThat(multi.finished().sent()).containsExactly("r");
    }

    @Test
    void failedLoadsOfEveryConnectorAreReported() {
        Fake a = new Fake(0, false);
        Fake b = new Fake(0, false);
        a.failed.add(3);
        b.failed.add(7);
        assertThat(new MultiConnector(List.of(a, b)).failedBlockLoads()).containsExactlyInAnyOrder(3, 7);
    }
}
