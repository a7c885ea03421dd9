package dev.tandem.orchestrator.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads Mooncake-format traces: JSON lines of {@code timestamp} (ms), {@code input_length}, {@code output_length}, {@code hash_ids}. */
public final class MooncakeTrace {

    private MooncakeTrace() {}

    public static List<TraceRequest> load(Path file) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        List<TraceRequest> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode j;
                try {
                    j = mapper.readTree(line);
                } catch (JsonProcessingException e) {
                    // Jackson's own location is within the line; name the file's line instead.
                    throw new IOException(file + ":" + n + ": not valid JSON: " + e.getOriginalMessage(), e);
                }
                JsonNode ids = j.get("hash_ids");
                if (j.get("timestamp") == null
                        || j.get("input_length") == null
                        || j.get("output_length") == null
                        || ids == null
                        || !ids.isArray()) {
                    throw new IOException(
                            file + ":" + n + ": expected timestamp, input_length, output_length and hash_ids");
                }
                long[] hashIds = new long[ids.size()];
                for (int i = 0; i < hashIds.length; i++) {
                    if (!ids.get(i).isIntegralNumber()) {
                        throw new IOException(file + ":" + n + ": hash_ids must be integers");
                    }
                    hashIds[i] = ids.get(i).asLong();
                }
                for (String field : new String[] {"timestamp", "input_length", "output_length"}) {
                    if (!j.get(field).isIntegralNumber()) {
                        throw new IOException(file + ":" + n + ": " + field + " must be an integer");
                    }
                }
                TraceRequest t = new TraceRequest(
                        j.get("timestamp").asLong(),
                        j.get("input_length").asInt(),
                        j.get("output_length").asInt(),
                        hashIds);
                if (t.inputLength() < 1 || t.outputLength() < 1) {
                    throw new IOException(file + ":" + n + ": input_length and output_length must be >= 1");
                }
                out.add(t);
            }
        }
        out.sort((a, b) -> Long.compare(a.timestampMs(), b.timestampMs()));
        return out;
    }
}
