package dev.tandem.conformance.engine;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Engine TCK against any provider on the classpath: {@code -Dtandem.tck.engine=NAME} (default {@code sim}),
 * {@code -Dtandem.tck.model=REF} and {@code -Dtandem.tck.options=key=value,key=value}. For example
 * {@code ./mvnw -pl conformance-tests verify -Dtest=ConfiguredEngineContractTest -Dtandem.tck.engine=native}.
 */
class ConfiguredEngineContractTest extends EngineContractTest {

    @Override
    protected EngineProvider provider() {
        return Engines.provider(System.getProperty("tandem.tck.engine", "sim"));
    }

    @Override
    protected EngineConfig.Builder config() {
        Map<String, String> options = new LinkedHashMap<>();
        String o = System.getProperty("tandem.tck.options", "");
        for (String kv : o.split(",")) {
            if (!kv.isBlank()) {
                String[] p = kv.split("=", 2);
                options.put(p[0].strip(), p.length > 1 ? p[1].strip() : "");
            }
        }
        if (provider().name().equals("sim") && !options.containsKey("speedup")) {
            return super.config()
                    .speedup(50)
                    .model(System.getProperty("tandem.tck.model"))
                    .options(options);
        }
        return super.config().model(System.getProperty("tandem.tck.model")).options(options);
    }
}
