package dev.tandem.api.http;

import java.util.ArrayList;
import java.util.List;

/**
 * Server-sent events as the HTML specification parses them, so that any legal framing is accepted: lines end with
 * CRLF, LF or CR; {@code data:} with or without one space; lines starting with a colon are comments; an event is
 * dispatched at a blank line, its data lines joined with LF; other fields ({@code event}, {@code id},
 * {@code retry}) are ignored. Feed it text as it arrives, split anywhere. Used by the OpenAI adapter (upstream
 * streams) and the HTTP TCK. Not thread-safe.
 */
public final class SseParser {

    private final StringBuilder line = new StringBuilder();
    private final StringBuilder data = new StringBuilder();
    private final List<String> events = new ArrayList<>();
    private boolean hasData;
    private boolean lastWasCr;

    /** Consumes {@code text}; returns the events it completed, in order. */
    public List<String> feed(CharSequence text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' && lastWasCr) {
                lastWasCr = false; // the LF of a CRLF: the line already ended at the CR
                continue;
            }
            lastWasCr = c == '\r';
            if (c == '\r' || c == '\n') {
                endLine();
            } else {
                line.append(c);
            }
        }
        List<String> out = List.copyOf(events);
        events.clear();
        return out;
    }

    private void endLine() {
        if (line.isEmpty()) {
            if (hasData) {
                events.add(data.toString());
            }
            data.setLength(0);
            hasData = false;
            return;
        }
        String l = line.toString();
        line.setLength(0);
        if (l.charAt(0) == ':') {
            return;
        }
        int colon = l.indexOf(':');
        String field = colon < 0 ? l : l.substring(0, colon);
        String value = colon < 0 ? "" : l.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        if (field.equals("data")) {
            if (hasData) {
                data.append('\n');
            }
            data.append(value);
            hasData = true;
        }
    }
}
