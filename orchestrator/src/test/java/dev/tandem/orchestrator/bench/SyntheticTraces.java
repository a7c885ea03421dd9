package dev.tandem.orchestrator.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/** Small Mooncake-format traces for replay tests, and the infinite-cache bound of a trace. */
final class SyntheticTraces {

    private SyntheticTraces() {}

    /**
     * {@code requests} requests, {@code gapMs} apart. Each takes 1 to 5 leading hash ids of one of 4 documents
     * (document d's id at position i is 100·d + i, so equal ids always mean equal prefixes) and then 1 or 2 ids of
     * its own, so no prompt repeats a whole earlier one. Outputs are 1 to 8 tokens.
     *
     * @param wholeBlocks input lengths are 512 × the number of hash ids; otherwise the last (own) block is partial
     */
    static List<TraceRequest> generate(long seed, int requests, long gapMs, boolean wholeBlocks) {
        Random rnd = new Random(seed);
        long own = 1_000_000;
        List<TraceRequest> out = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            int doc = rnd.nextInt(4);
            int shared = 1 + rnd.nextInt(5);
            long[] ids = new long[shared + 1 + rnd.nextInt(2)];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = j < shared ? 100L * doc + j : own++;
            }
            int input =
                    TraceRequest.TRACE_BLOCK * ids.length - (wholeBlocks ? 0 : rnd.nextInt(TraceRequest.TRACE_BLOCK));
            out.add(new TraceRequest(i * gapMs, input, 1 + rnd.nextInt(8), ids));
        }
        return out;
    }

    /** Writes {@code trace} as JSON lines. */
    static Path write(Path file, List<TraceRequest> trace) throws IOException {
        List<String> lines = new ArrayList<>();
        for (TraceRequest t : trace) {
            lines.add(String.format(
                    "{\"timestamp\": %d, \"input_length\": %d, \"output_length\": %d, \"hash_ids\": [%s]}",
                    t.timestampMs(),
                    t.inputLength(),
                    t.outputLength(),
                    LongStream.of(t.hashIds()).mapToObj(Long::toString).collect(Collectors.joining(", "))));
        }
        return Files.write(file, lines);
    }

    /**
     * Per request, the most prompt tokens any cache could serve: {@code min(512·k, input_length)}, k being the
     * number of its leading hash ids that earlier requests (in trace order) already had.
     */
    static long[] cachedBound(List<TraceRequest> trace) {
        Set<Long> seen = new HashSet<>();
        long[] out = new long[trace.size()];
        for (int i = 0; i < trace.size(); i++) {
            TraceRequest t = trace.get(i);
            int k = 0;
            while (k < t.hashIds().length && seen.contains(t.hashIds()[k])) {
                k++;
            }
            out[i] = Math.min((long) TraceRequest.TRACE_BLOCK * k, t.inputLength());
            for (long h : t.hashIds()) {
                seen.add(h);
            }
        }
        return out;
    }

    /** The infinite-cache prefix hit rate: Σ {@link #cachedBound} ÷ Σ input_length. */
    static double infiniteCacheHitRate(List<TraceRequest> trace) {
        long[] cached = cachedBound(trace);
        long hit = 0;
        long total = 0;
        for (int i = 0; i < trace.size(); i++) {
            hit += cached[i];
            total += trace.get(i).inputLength();
        }
        return (double) hit / total;
    }

    static long outputTokens(List<TraceRequest> trace) {
        return trace.stream().mapToLong(TraceRequest::outputLength).sum();
    }
}
