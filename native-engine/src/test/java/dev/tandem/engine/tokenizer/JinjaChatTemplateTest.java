package dev.tandem.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.api.tokenizer.ChatMessage;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Hugging Face chat templates render through Jinjava as they do through transformers' Jinja environment. */
class JinjaChatTemplateTest {

    /** Llama-2-chat's template as published in its tokenizer_config.json. */
    static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
            + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
            + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
            + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    /** ChatML (Qwen-style), written with whitespace control on indented lines. */
    static final String CHATML = """
            {%- for message in messages %}
                {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    private static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage("system", "You are terse."),
            new ChatMessage("user", "Hi there "),
            new ChatMessage("assistant", "Hello!"),
            new ChatMessage("user", "Name a colour."));

    @Test
    void llama2TemplateFoldsTheSystemMessageIntoTheFirstTurn() {
        JinjaChatTemplate t = new JinjaChatTemplate(LLAMA2, "<s>", "</s>");
        assertThat(t.render(CONVERSATION, true))
                .isEqualTo("<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello! </s>"
                        + "<s>[INST] Name a colour. [/INST]");
        assertThat(t.render(List.of(new ChatMessage("user", "Hi")), false)).isEqualTo("<s>[INST] Hi [/INST]");
    }

    @Test
    void raiseExceptionInTheTemplateThrowsIllegalArgumentWithItsMessage() {
        JinjaChatTemplate t = new JinjaChatTemplate(LLAMA2, "<s>", "</s>");
        List<ChatMessage> twoUsers = List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"));
        assertThatThrownBy(() -> t.render(twoUsers, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void chatMlTemplateAddsTheAssistantHeaderOnlyWhenAskedTo() {
        JinjaChatTemplate t = new JinjaChatTemplate(CHATML, "", "<|im_end|>");
        String body = "<|im_start|>system\nYou are terse.<|im_end|>\n"
                + "<|im_start|>user\nHi there <|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nName a colour.<|im_end|>\n";
        assertThat(t.render(CONVERSATION, false)).isEqualTo(body);
        assertThat(t.render(CONVERSATION, true)).isEqualTo(body + "<|im_start|>assistant\n");
    }

    @Test
    void blockTagsOnTheirOwnLinesLeaveNoBlankLinesOrIndentation() {
        // trim_blocks drops the newline after a block tag; lstrip_blocks drops the indentation before one.
        String template = """
                {% for message in messages %}
                  {% if message.role == 'user' %}
                User: {{ message.content }}
                  {% else %}
                Bot: {{ message.content }}
                  {% endif %}
                {% endfor %}
                {% if add_generation_prompt %}
                Bot:
                {% endif %}
                """;
        JinjaChatTemplate t = new JinjaChatTemplate(template, "", "");
        List<ChatMessage> chat = List.of(new ChatMessage("user", "hi"), new ChatMessage("assistant", "hello"));
        assertThat(t.render(chat, true)).isEqualTo("User: hi\nBot: hello\nBot:\n");
        assertThat(t.render(chat, false)).isEqualTo("User: hi\nBot: hello\n");
    }

    @Test
    void expressionTagsKeepTheirSurroundingWhitespaceUnlessTrimmed() {
        JinjaChatTemplate t =
                new JinjaChatTemplate("{{ bos_token }}  {{- messages[0].content -}}  \n{{ eos_token }}", "<s>", "</s>");
        assertThat(t.render(List.of(new ChatMessage("user", "x")), false)).isEqualTo("<s>x</s>");
    }

    @Test
    void loopControlsNamespacesAndTestsWork() {
        String template = "{%- set ns = namespace(users=0) -%}"
                + "{%- for m in messages -%}"
                + "{%- if m.role == 'system' %}{% continue %}{% endif -%}"
                + "{%- set ns.users = ns.users + 1 -%}"
                + "[{{ loop.index }}:{{ m.content | trim }}]"
                + "{%- if loop.last %}{{ ' last' }}{% endif -%}"
                + "{%- endfor %}"
                + " users={{ ns.users }}{% if tools is not defined %} no-tools{% endif %}";
        JinjaChatTemplate t = new JinjaChatTemplate(template, "", "");
        assertThat(t.render(CONVERSATION, false))
                .isEqualTo("[2:Hi there][3:Hello!][4:Name a colour.] last users=3 no-tools");
    }

    @Test
    void tagsWithoutInnerSpacesOperatorPrecedenceAndDictsFollowJinja() {
        String template = "{{bos_token}}{%if not messages[0].role == 'system'%}N{%else%}Y{%endif%}"
                + "{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}"
                + "{{ messages | length }}{{ messages[0]['content'] | tojson }}{{ 1 + 2 * 3 }}";
        JinjaChatTemplate t = new JinjaChatTemplate(template, "<s>", "");
        // The output of Jinja2 3.1 with transformers' settings.
        assertThat(t.render(List.of(new ChatMessage("user", "x")), false)).isEqualTo("<s>Nab1\"x\"7");
    }

    /** Jinjava's dialect bridged to Jinja's; each expected output is what Jinja2 3.1 renders. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "==>", quoteCharacter = '`', textBlock = """
            {% if not messages[0].role == 'system' %}N{% else %}Y{% endif %} ==> N
            {% if not foo is defined %}N{% else %}Y{% endif %} ==> N
            {% if not messages is defined %}N{% else %}Y{% endif %} ==> Y
            {% if not add_generation_prompt is defined %}X{% else %}Y{% endif %} ==> Y
            {{ 'a' if not messages[0].role in ['system', 'tool'] else 'b' }} ==> a
            {{ 'a' if messages[0].role not in ['system'] and not false else 'b' }} ==> a
            {% if not (messages | length) > 1 and messages[0].content is not none %}A{% endif %} ==> A
            {% for m in messages if not m.role == 'system' %}{{ m.role }}{% endfor %} ==> user
            {% if messages[0].content.startswith('<think>') %}S{% endif %} ==> S
            {% if messages[0].content.endswith(('x', 'answer')) %}E{% endif %} ==> E
            {{ messages[0].content.split('</think>')[-1].lstrip('\\n') }} ==> answer
            {{ messages[0].content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }} ==> hmm
            {{ '  a  b '.split() }}{{ 'a,b,,c'.split(',') }}{{ 'a,b,c'.split(',', 1) }} ==> `['a', 'b']['a', 'b', '', 'c']['a', 'b,c']`
            {{ 'xxhixx'.strip('x') }}/{{ '  hi  '.strip() }}/{{ 'Hello'.upper() }}{{ 'Hello'.lower() }} ==> hi/hi/HELLOhello
            {{ 'aaa'.replace('a', 'b', 2) }}{{ '-'.join(['a', 'b']) }}{{ 'hEllo'.capitalize() }}{{ 'abc'.find('c') }} ==> bbaa-bHello2
            """)
    void pythonSemanticsThatChatTemplatesRelyOn(String template, String expected) {
        JinjaChatTemplate t = new JinjaChatTemplate(template, "", "");
        List<ChatMessage> chat = List.of(new ChatMessage("user", "<think>\nhmm\n</think>\n\nanswer"));
        assertThat(t.render(chat, true)).isEqualTo(expected);
    }

    @Test
    void templateThatDoesNotParseIsRejectedAtConstruction() {
        assertThatThrownBy(() -> new JinjaChatTemplate("{% for m in messages %}{{ m.content }}", "", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid chat template");
    }

    @Test
    void templatesCannotIncludeFiles() {
        JinjaChatTemplate t = new JinjaChatTemplate("{% include '/etc/passwd' %}", "", "");
        assertThatThrownBy(() -> t.render(List.of(new ChatMessage("user", "x")), false))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
