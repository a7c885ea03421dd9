package dev.tandem.adapters.trtllm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.adapters.kvevents.KvEventFeed;
import dev.tandem.adapters.kvevents.KvEventRepublisher;
import dev.tandem.adapters.kvevents.VllmEvent;
import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.kv.KvStateDump;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * TensorRT-LLM's KV events, polled: {@code POST /kv_cache_events} drains the events since the last call as JSON,
 * each {@code {event_id, data: {type: created|stored|removed|updated, ...}, window_size}}. Stored blocks carry
 * their tokens ({@code {token_id, token_extra_id}}) and {@code cache_level} (0 = GPU); blocks with extra ids or on
 * another level are not routed on, and a block moved off level 0 ({@code updated}) counts as removed. Event ids
 * increase by one; a gap (the engine's buffer overflowed between polls) or ids that start again (a restart) drop the
 * worker's blocks from the index before newer ones apply, as there is no replay. One platform thread polls.
 */
final class TrtllmKvEventPoller implements KvEventFeed {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long POLL_MILLIS = 100;

    private final String workerId;
    private final URI url;
    private final KvEventRepublisher republisher;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean restarted;
    private long lastId = -1;

    TrtllmKvEventPoller(String workerId, String url, int blockSize, KvEventSink sink) {
        this.workerId = workerId;
        this.url = URI.create(url);
        this.republisher = new KvEventRepublisher(workerId, blockSize, sink);
        this.thread = new Thread(this::run, "kv-events-" + workerId);
        this.thread.setDaemon(true);
    }

    @Override
    public void start() {
        thread.start();
    }

    @Override
    public void publisherRestarted() {
        restarted = true;
    }

    private void run() {
        while (!closed) {
            if (restarted) {
                restarted = false;
                reset("the engine restarted");
                lastId = -1;
            }
            try {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(url)
                                .timeout(Duration.ofSeconds(5))
                                .POST(HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    received(JSON.readTree(r.body()));
                }
            } catch (IOException e) {
                // the engine is starting or restarting: try again at the next poll
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                reset("an answer could not be read: " + e.getMessage());
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void received(JsonNode events) {
        List<VllmEvent> batch = new ArrayList<>();
        for (JsonNode e : events) {
            long id = e.path("event_id").asLong(-1);
            if (lastId >= 0 && id != lastId + 1) {
                flush(batch);
                reset(
                        id <= lastId
                                ? "event ids started again at " + id
                                : "events " + (lastId + 1) + ".." + (id - 1)
                                        + " were lost (the engine's buffer overflowed)");
            }
            lastId = id;
            VllmEvent ev = event(e.path("data"));
            if (ev != null) {
                batch.add(ev);
            }
        }
        flush(batch);
    }

    private static VllmEvent event(JsonNode d) {
        return switch (d.path("type").asText()) {
            case "stored" -> stored(d);
            case "removed" -> new VllmEvent.Removed(hashes(d.path("block_hashes")));
            case "updated" -> {
                JsonNode level = d.path("cache_level");
                yield level.isObject() && level.path("new_value").asInt(0) != 0
                        ? new VllmEvent.Removed(new long[] {hash(d.path("block_hash"))})
                        : null;
            }
            default -> null; // "created" and anything newer
        };
    }

    private static VllmEvent stored(JsonNode d) {
        JsonNode blocks = d.path("blocks");
        long[] hashes = new long[blocks.size()];
        List<Integer> tokens = new ArrayList<>();
        boolean plain = true;
        int blockSize = -1;
        for (int i = 0; i < hashes.length; i++) {
            JsonNode b = blocks.get(i);
            hashes[i] = hash(b.path("block_hash"));
            plain &= b.path("cache_level").asInt(0) == 0;
            JsonNode ts = b.path("tokens");
            if (blockSize < 0) {
                blockSize = ts.size();
            }
            plain &= ts.size() == blockSize;
            for (JsonNode t : ts) {
                tokens.add(t.path("token_id").asInt());
                plain &= t.path("token_extra_id").asLong(0) == 0;
            }
        }
        JsonNode parent = d.path("parent_hash");
        return new VllmEvent.Stored(
                hashes,
                parent.isMissingNode() || parent.isNull() ? null : hash(parent),
                tokens.stream().mapToInt(Integer::intValue).toArray(),
                Math.max(blockSize, 0),
                plain);
    }

    private static long[] hashes(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = hash(a.get(i));
        }
        return out;
    }

    /** A 64-bit block hash; values at and above 2^63 keep their bits. */
    private static long hash(JsonNode n) {
        return n.bigIntegerValue().longValue();
    }

    private void flush(List<VllmEvent> batch) {
        republisher.publish(batch);
        batch.clear();
    }

    private void reset(String why) {
        republisher.reset(why);
    }

    @Override
    public KvStateDump dump() {
        return republisher.dump();
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
