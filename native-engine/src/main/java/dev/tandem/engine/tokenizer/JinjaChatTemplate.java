package dev.tandem.engine.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceLocator;
import dev.tandem.api.tokenizer.ChatMessage;
import dev.tandem.api.tokenizer.ChatTemplate;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELResolver;

/**
 * A Hugging Face chat template (the Jinja {@code chat_template} of {@code tokenizer_config.json}), rendered with
 * Jinjava configured as transformers configures Jinja: {@code trim_blocks} and {@code lstrip_blocks} on, and a
 * {@code raise_exception(message)} function, which makes {@link #render} throw {@link IllegalArgumentException} with
 * that message. The template sees {@code messages} (a list of {@code {role, content}} maps),
 * {@code add_generation_prompt}, {@code bos_token} and {@code eos_token}. Where Jinjava's dialect differs from
 * Jinja's in ways chat templates rely on, {@link JinjaCompat} bridges it: {@code not} binds as in Python, and
 * Python's string methods ({@code content.startswith(...)}, {@code .split(...)}, {@code .lstrip(...)}) work.
 *
 * <p>Templates cannot read files: {@code include}, {@code import} and {@code extends} fail. Immutable and
 * thread-safe (Jinjava makes a fresh interpreter for each render).
 */
public final class JinjaChatTemplate implements ChatTemplate {

    /** Bounds a runaway template's output (a prompt is far smaller). */
    private static final long MAX_OUTPUT_CHARS = 64L << 20;

    /**
     * Jinjava's opt-ins to Jinja's own behaviour: whitespace control on expressions ({@code {{- x -}}}), Python
     * operator precedence, dict keys are expressions and iterating a dict gives its keys, None kept in loops,
     * Python-style printing of lists and dicts.
     */
    private static final LegacyOverrides JINJA_SEMANTICS = LegacyOverrides.newBuilder()
            .withUseTrimmingForNotesAndExpressions(true)
            .withParseWhitespaceControlStrictly(true)
            .withUseNaturalOperatorPrecedence(true)
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withKeepNullableLoopValues(true)
            .withUsePyishObjectMapper(true)
            .withAllowAdjacentTextNodes(true)
            .build();

    /** Python's string methods first, then Jinjava's usual (read-only) resolution. */
    private static final ELResolver RESOLVER = resolver();

    private final String template;
    /** {@link #template} with Jinja's precedence for {@code not} made explicit for Jinjava. */
    private final String rendered;

    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param bosToken the text of the BOS token, or {@code ""}
     * @param eosToken the text of the EOS token, or {@code ""}
     * @throws IllegalArgumentException when the template does not parse
     */
    public JinjaChatTemplate(String template, String bosToken, String eosToken) {
        this.template = Objects.requireNonNull(template, "template");
        this.rendered = JinjaCompat.parenthesizeNot(template);
        this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
        this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withLegacyOverrides(JINJA_SEMANTICS)
                .withElResolver(RESOLVER)
                .build());
        jinjava.setResourceLocator(NO_FILES);
        jinjava.registerFunction(new ELFunctionDefinition(
                "", "raise_exception", JinjaChatTemplate.class, "raiseException", String.class));
        checkSyntax();
    }

    /** The template text. */
    public String template() {
        return template;
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(rendered, vars);
        for (TemplateError e : result.getErrors()) {
            String raised = raisedMessage(e.getException());
            if (raised != null) {
                throw new IllegalArgumentException(raised);
            }
        }
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("the chat template failed on this conversation: " + e.getMessage());
            }
        }
        return result.getOutput();
    }

    /** The function behind the templates' {@code raise_exception}; public because Jinjava calls it reflectively. */
    public static String raiseException(String message) {
        throw new TemplateRaisedException(message);
    }

    private void checkSyntax() {
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            interpreter.parse(rendered);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        for (TemplateError e : interpreter.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException(
                        "invalid chat template (line " + e.getLineno() + "): " + e.getMessage());
            }
        }
    }

    private static ELResolver resolver() {
        CompositeELResolver r = new CompositeELResolver();
        r.add(new JinjaCompat.PythonStringMethods());
        r.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return r;
    }

    private static String raisedMessage(Throwable t) {
        for (int depth = 0; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof TemplateRaisedException r) {
                return r.getMessage();
            }
        }
        return null;
    }

    /** Thrown through Jinjava by {@code raise_exception}; render turns it into an IllegalArgumentException. */
    private static final class TemplateRaisedException extends RuntimeException {
        TemplateRaisedException(String message) {
            super(message, null, false, false);
        }
    }

    private static final ResourceLocator NO_FILES = new ResourceLocator() {
        @Override
        public String getString(String fullName, Charset encoding, JinjavaInterpreter interpreter) throws IOException {
            throw new IOException("chat templates cannot read " + fullName);
        }
    };
}
