package dev.tandem.conformance.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineCapabilities;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineInfo;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.kv.LoadSnapshot;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** The TCK fails an engine that breaks the contract, in the cases it breaks: it is not a test that cannot fail. */
class EngineTckCatchesBrokenEnginesTest {

    /**
     * Ignores the token budget and stop ids, sends two final deltas without usage, never frees what it holds, and
     * accepts any token id: the opposite of every promise.
     */
    static final class SloppyEngine implements Engine {
        private final EngineConfig config;
        private int running;

        SloppyEngine(EngineConfig config) {
            this.config = config;
        }

        @Override
        public EngineInfo info() {
            return new EngineInfo(
                    "sloppy",
                    config.blockSize(),
                    512,
                    64,
                    256,
                    Set.of(),
                    null,
                    0,
                    new EngineCapabilities(true, false, false, false, false, false, false, false));
        }

        @Override
        public Generation generate(GenerateRequest request, TokenListener listener) {
            running++;
            Thread.ofVirtual().start(() -> {
                listener.onDelta(TokenDelta.tokens(7, 7, 7));
                listener.onDelta(
                        TokenDelta.finished(new int[] {(int) (System.nanoTime() % 200)}, FinishReason.LENGTH, null));
                listener.onDelta(TokenDelta.finished(new int[0], FinishReason.STOP, new Usage(1, 0, 1)));
            });
            return new Generation() {
                @Override
                public String requestId() {
                    return request.requestId();
                }

                @Override
                public void cancel() {}
            };
        }

        @Override
        public LoadSnapshot load() {
            return new LoadSnapshot(config.workerId(), running, 0, running, 64, 0, System.nanoTime());
        }

        @Override
        public KvStateDump dumpKvState() {
            return new KvStateDump(config.workerId(), 0, new long[0]);
        }

        @Override
        public void close() {}
    }

    /** The TCK pointed at the sloppy engine; nested, so the build does not run it on its own. */
    static class SloppyEngineContract extends EngineContractTest {
        @Override
        protected EngineProvider provider() {
            return new EngineProvider() {
                @Override
                public String name() {
                    return "sloppy";
                }

                @Override
                public boolean isAvailable() {
                    return true;
                }

                @Override
                public Engine create(EngineConfig config) {
                    return new SloppyEngine(config);
                }
            };
        }

        @Override
        protected java.time.Duration timeout() {
            return java.time.Duration.ofSeconds(2);
        }
    }

    @Test
    void theTckFailsABrokenEngineCaseByCase() {
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(
                LauncherDiscoveryRequestBuilder.request()
                        .selectors(selectClass(SloppyEngineContract.class))
                        .build(),
                summary);
        TestExecutionSummary s = summary.getSummary();
        Set<String> failed = s.getFailures().stream()
                .map(f -> f.getTestIdentifier().getDisplayName())
                .collect(Collectors.toSet());
        assertThat(failed)
                .contains(
                        "aStreamEndsWithExactlyOneFinalDeltaCarryingReasonAndUsage()",
                        "maxTokensIsExactWhenEosIsIgnored()",
                        "aStopTokenIdEndsGenerationAtItsFirstOccurrence()",
                        "greedyDecodingRepeatsItselfAndContinuesASequenceExactly()",
                        "cancellingARequestEndsItAndReturnsTheEngineToIdle()",
                        "aPromptBeyondTheContextIsAnInvalidRequest()",
                        "aTokenIdOutsideTheVocabularyIsAnInvalidRequest()");
        assertThat(failed).contains("sixtyFourConcurrentRequestsAllFinish()");
        assertThat(s.getTestsSucceededCount()).as("only its engine info holds").isEqualTo(1);
    }
}
