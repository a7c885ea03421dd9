package com.example.toybackend;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineProvider;

/**
 * The example backend's front door, found by {@link java.util.ServiceLoader} through
 * {@code META-INF/services/dev.tandem.api.engine.EngineProvider}: {@code bin/tandem serve --engine toy}.
 */
public final class ToyEngineProvider implements EngineProvider {

    @Override
    public String name() {
        return "toy";
    }

    /** A backend that needs a GPU, a binary or a license would check for it here and say why not. */
    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Engine create(EngineConfig config) {
        return new ToyEngine(config);
    }
}
