package dev.tandem.orchestrator.preprocess;

import java.util.List;

/**
 * Cuts generated text at the first stop string, exactly, even when a stop string arrives split across several
 * pieces. Text that could still be the start of a stop string is held back until it cannot. Not thread-safe.
 */
public final class StopStringMatcher {

    private final List<String> stops;
    private final int longest;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopStringMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
        this.longest = this.stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** The text that can be released after {@code piece}; after a stop string matched, always empty. */
    public String add(String piece) {
        if (stopped) {
            return "";
        }
        if (longest == 0) {
            return piece;
        }
        pending.append(piece);
        int cut = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) {
                cut = i;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        int keep = 0;
        for (int k = Math.min(longest - 1, pending.length()); k > 0; k--) {
            String tail = pending.substring(pending.length() - k);
            if (stops.stream().anyMatch(s -> s.startsWith(tail))) {
                keep = k;
                break;
            }
        }
        String out = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return out;
    }

    /** Whether a stop string matched. */
    public boolean stopped() {
        return stopped;
    }

    /** Releases held-back text at the end of generation. */
    public String flush() {
        if (stopped) {
            return "";
        }
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }
}
