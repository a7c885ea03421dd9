package com.example.toybackend;

import dev.tandem.api.engine.EngineProvider;
import dev.tandem.api.engine.Engines;
import dev.tandem.conformance.engine.EngineContractTest;

/** The whole Engine TCK against the toy backend, found the way Tandem finds it: by name, through ServiceLoader. */
class ToyEngineContractTest extends EngineContractTest {

    @Override
    protected EngineProvider provider() {
        return Engines.provider("toy");
    }
}
