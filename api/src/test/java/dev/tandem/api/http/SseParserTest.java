package dev.tandem.api.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {

    private static List<String> parse(String... pieces) {
        SseParser p = new SseParser();
        List<String> out = new ArrayList<>();
        for (String piece : pieces) {
            out.addAll(p.feed(piece));
        }
        return out;
    }

    @Test
    void dataWithOrWithoutTheSpaceIsTheSamePayload() {
        assertThat(parse("data: {\"a\":1}\n\ndata:{\"a\":2}\n\n")).containsExactly("{\"a\":1}", "{\"a\":2}");
    }

    @Test
    void crlfAndBareCrEndLinesToo() {
        assertThat(parse("data: x\r\n\r\ndata: y\r\rdata: z\n\n")).containsExactly("x", "y", "z");
    }

    @Test
    void aCrlfSplitAcrossReadsIsOneLineEnd() {
        assertThat(parse("data: x\r", "\n\r", "\ndata: y\n\n")).containsExactly("x", "y");
    }

    @Test
    void commentsAndOtherFieldsAreIgnored() {
        assertThat(parse(": ping\n\nevent: message\nid: 7\ndata: x\n\n")).containsExactly("x");
    }

    @Test
    void anEventSplitAnywhereAcrossReadsIsWhole() {
        assertThat(parse("da", "ta: {\"te", "xt\":\"hi\"}", "\n", "\n")).containsExactly("{\"text\":\"hi\"}");
    }

    @Test
    void severalEventsInOneReadAreAllDelivered() {
        assertThat(parse("data: a\n\ndata: b\n\ndata: [DONE]\n\n")).containsExactly("a", "b", "[DONE]");
    }

    @Test
    void multiLineDataIsJoinedWithLineFeeds() {
        assertThat(parse("data: a\ndata: b\n\n")).containsExactly("a\nb");
    }

    @Test
    void anUnterminatedEventIsNotDeliveredUntilItsBlankLine() {
        SseParser p = new SseParser();
        assertThat(p.feed("data: a\n")).isEmpty();
        assertThat(p.feed("\n")).containsExactly("a");
    }
}
