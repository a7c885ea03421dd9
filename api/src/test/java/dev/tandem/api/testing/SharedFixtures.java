package dev.tandem.api.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Test fixtures from the project's {@code ../shared} folder, whose absolute path the parent POM passes to every test
 * JVM as the system property {@code tandem.shared.dir}.
 *
 * <p>A missing fixture makes a test skipped with the reason; with the environment variable {@code CI=true} it makes
 * the test fail, so that CI can never pass by skipping.
 */
public final class SharedFixtures {

    private SharedFixtures() {}

    /** The path of {@code relative} under the shared folder; skips or fails the calling test when it is missing. */
    public static Path require(String relative) {
        String dir = System.getProperty("tandem.shared.dir");
        String why;
        if (dir == null || dir.isBlank()) {
            why = "system property tandem.shared.dir is not set (run the tests through Maven)";
        } else {
            Path p = Path.of(dir).resolve(relative).toAbsolutePath().normalize();
            if (Files.exists(p)) {
                return p;
            }
            why = "shared fixture " + p + " is missing";
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(why + " (CI=true: a missing fixture is a failure)");
        }
        Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }
}
