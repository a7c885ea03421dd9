package dev.tandem.engine;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TextPrompt;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import org.junit.jupiter.api.Test;

/** The built-in engine takes token ids: a prompt for an engine that tokenizes itself is refused, not guessed at. */
class TextPromptRefusalTest {

    @Test
    void aTextPromptIsAnInvalidRequestForTheBuiltInEngine() {
        try (var engine = Engines.provider("sim").create(EngineConfig.builder().build())) {
            GenerateRequest r = new GenerateRequest(
                    "t",
                    new int[0],
                    SamplingParams.GREEDY,
                    StopConditions.maxTokens(2),
                    null,
                    TextPrompt.completion("hello"));
            assertThatThrownBy(() -> engine.generate(r, new TokenListener() {
                        @Override
                        public void onDelta(TokenDelta delta) {}

                        @Override
                        public void onError(EngineException error) {}
                    }))
                    .isInstanceOf(EngineException.class)
                    .hasMessageContaining("token ids")
                    .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((EngineException) e).kind())
                            .isEqualTo(EngineException.Kind.INVALID_REQUEST));
        }
    }
}
