package dev.tandem.orchestrator.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.conformance.http.CaseResult;
import dev.tandem.conformance.http.ConformanceReport;
import dev.tandem.conformance.http.HttpConformance;
import dev.tandem.orchestrator.runtime.EmbeddedCluster;
import dev.tandem.orchestrator.testing.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Tandem's own endpoint passes the HTTP TCK that backend authors run, on each built-in engine path. */
class TandemConformanceTest {

    @ParameterizedTest(name = "--engine {0}")
    @ValueSource(strings = {"sim", "native"})
    void tandemPassesEveryCaseOfTheHttpTck(String engine) throws Exception {
        FrontendConfig fc =
                new FrontendConfig("127.0.0.1", 0, FrontendConfig.DEFAULT_MAX_BODY, 64, Duration.ofMinutes(2));
        try (TestCluster cluster = TestCluster.start(new EmbeddedCluster.Settings(
                fc, 1, engine, null, "tandem", 16, 4096, engine.equals("sim") ? 50 : 1, Map.of()))) {
            List<CaseResult> results =
                    new HttpConformance(cluster.baseUrl() + "/v1", null, Duration.ofSeconds(60)).run();
            ConformanceReport report = new ConformanceReport(results);
            assertThat(results)
                    .filteredOn(r -> r.outcome() != CaseResult.Outcome.PASSED)
                    .as(report.summary())
                    .isEmpty();
            assertThat(results).hasSizeGreaterThanOrEqualTo(20);
        }
    }
}
