package dev.tandem.orchestrator.router;

import java.util.Collection;
import java.util.Map;

/** What the router knows of which worker holds which prefix: exact (KV events) or approximate (own decisions). */
public interface PrefixIndex {

    /** For each candidate, how many leading entries of {@code hashes} it is believed to hold (absent = 0). */
    Map<String, Integer> overlaps(long[] hashes, Collection<String> candidates);

    /** Blocks believed held by a worker. */
    int blockCount(String workerId);

    /** Forgets a departed worker. */
    void removeWorker(String workerId);
}
