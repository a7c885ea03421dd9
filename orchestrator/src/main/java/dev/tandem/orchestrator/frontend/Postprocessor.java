package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.orchestrator.preprocess.IncrementalDetokenizer;
import dev.tandem.orchestrator.preprocess.StopStringMatcher;
import java.util.List;
import java.util.Set;

/**
 * Token deltas to the client's text: incremental detokenizing (special tokens hidden) and stop strings cut
 * exactly across piece boundaries. Text comes from the frontend's tokenizer; for a model it has none for (an
 * external engine's), or a delta that carries text but no ids, from the text the engine sent. One per prompt.
 */
final class Postprocessor {

    private final boolean engineText;
    private final IncrementalDetokenizer detok;
    private final StopStringMatcher stops;
    private final Set<Integer> special;

    Postprocessor(Tokenizer tokenizer, boolean engineText, List<String> stopStrings) {
        this.engineText = engineText;
        this.detok = new IncrementalDetokenizer(tokenizer);
        this.stops = new StopStringMatcher(stopStrings);
        this.special = tokenizer.eosTokenIds();
    }

    /** The text {@code d} adds to the output (possibly empty); after a stop string, nothing. */
    String add(TokenDelta d) {
        String piece;
        if (engineText || (d.tokenIds().length == 0 && d.text() != null)) {
            piece = d.text() == null ? "" : d.text();
        } else {
            piece = detok.add(visible(d.tokenIds(), special));
            if (d.isFinal()) {
                piece += detok.flush();
            }
        }
        String out = stops.add(piece);
        if (d.isFinal() && !stops.stopped()) {
            out += stops.flush();
        }
        return out;
    }

    /** A stop string was found: the output is complete. */
    boolean stopped() {
        return stops.stopped();
    }

    private static int[] visible(int[] ids, Set<Integer> special) {
        int n = 0;
        for (int id : ids) {
            if (!special.contains(id)) {
                n++;
            }
        }
        if (n == ids.length) {
            return ids;
        }
        int[] out = new int[n];
        int i = 0;
        for (int id : ids) {
            if (!special.contains(id)) {
                out[i++] = id;
            }
        }
        return out;
    }
}
