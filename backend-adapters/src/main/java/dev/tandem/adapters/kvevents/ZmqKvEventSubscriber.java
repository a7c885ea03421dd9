package dev.tandem.adapters.kvevents;

import dev.tandem.api.kv.KvEventSink;
import dev.tandem.api.kv.KvStateDump;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Subscribes to a vLLM (or SGLang) ZMQ KV-event publisher and republishes its events as Tandem batches on the
 * worker's sink. Frames are vLLM's: {@code [topic, 8-byte big-endian sequence number, msgpack batch]}. The publisher
 * binds a wildcard, ipc or inproc endpoint and connects to any other, so this side connects or binds to match.
 *
 * <p>Sequence numbers: a gap is filled from the publisher's replay endpoint before newer batches apply (a DEALER
 * sends {@code [empty, start seq]}; the ROUTER answers {@code [empty, seq, payload]} per buffered batch, newer vLLM
 * with the topic before the seq, then seq -1); a gap the replay cannot fill, or numbers that start again (the engine
 * restarted), drops this worker's blocks from the index before anything newer applies, so routing never rests on
 * stale state. PUB/SUB drops what is sent before a subscription reaches the publisher (at start, after a restart)
 * and under back-pressure; so a subscriber that has heard nothing for a while asks the replay for what follows its
 * last batch. One platform thread owns both sockets.
 */
public final class ZmqKvEventSubscriber implements KvEventFeed {

    private static final System.Logger LOG = System.getLogger(ZmqKvEventSubscriber.class.getName());
    /**
     * A replay that fills a gap answers within this, even on a loaded machine (vLLM's ROUTER thread polls every
     * 500 ms); a quiet subscriber's probe waits less, as the publisher may not be up yet.
     */
    private static final int REPLAY_TIMEOUT_MS = 5000;

    private static final int PROBE_TIMEOUT_MS = 1000;

    private static final int ATTEMPT_MILLIS = 1000;
    /** How long a quiet subscriber waits before asking the replay whether it missed the latest batches. */
    private static final long PROBE_NANOS = 2_000_000_000L;

    private final String workerId;
    private final String endpoint;
    private final String replayEndpoint;
    private final byte[] topic;
    private final KvEventRepublisher republisher;
    private final ZContext ctx = new ZContext();
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean restarted;
    private volatile boolean stopped;
    private long expected;
    private long replayRequests;

    /**
     * @param endpoint the publisher's configured endpoint ({@code tcp://*:P} binds there, so this side connects)
     * @param replayEndpoint the publisher's replay endpoint, or null
     * @param blockSize the router's block size; events of other sizes are not routed on
     */
    public ZmqKvEventSubscriber(
            String workerId, String endpoint, String replayEndpoint, String topic, int blockSize, KvEventSink sink) {
        this.workerId = workerId;
        this.endpoint = endpoint;
        this.replayEndpoint = replayEndpoint;
        this.topic = topic.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.republisher = new KvEventRepublisher(workerId, blockSize, sink);
        this.thread = new Thread(this::run, "kv-events-" + workerId);
        this.thread.setDaemon(true);
    }

    @Override
    public void start() {
        thread.start();
    }

    /** The engine behind the publisher restarted: its cache is empty and its numbers start again at 0. */
    @Override
    public void publisherRestarted() {
        restarted = true;
        stopped = false;
    }

    @Override
    public void publisherStopped() {
        stopped = true;
    }

    /** The endpoint to reach a publisher configured with {@code ep}, and whether to bind it (it connects). */
    static String peer(String ep) {
        for (String wild : List.of("*", "0.0.0.0", "[::]", "::")) {
            if (ep.startsWith("tcp://" + wild + ":")) {
                return "tcp://127.0.0.1:" + ep.substring(ep.lastIndexOf(':') + 1);
            }
        }
        return ep;
    }

    static boolean publisherBinds(String ep) {
        return ep.contains("*") || ep.contains("::") || ep.startsWith("ipc://") || ep.startsWith("inproc://");
    }

    /**
     * Connects a fresh SUB socket. Only while the publisher listens: a TCP connect retried against a free port of the
     * ephemeral range can connect to itself and hold the port the engine is about to bind.
     */
    private ZMQ.Socket subscribe() {
        ZMQ.Socket sub = ctx.createSocket(SocketType.SUB);
        sub.setReceiveTimeOut(200);
        sub.setLinger(0);
        sub.subscribe(topic);
        if (publisherBinds(endpoint)) {
            sub.connect(peer(endpoint));
        } else {
            sub.bind(endpoint);
        }
        return sub;
    }

    private void run() {
        ZMQ.Socket sub = subscribe();
        long lastHeard = System.nanoTime();
        while (!closed) {
            if (stopped) {
                // the engine is down: stop reconnecting until it listens again
                if (sub != null) {
                    ctx.destroySocket(sub);
                    sub = null;
                }
                pause();
                continue;
            }
            if (restarted) {
                restarted = false;
                reset("the engine restarted");
                expected = 0;
                if (sub != null) {
                    ctx.destroySocket(sub);
                }
                sub = subscribe();
                lastHeard = 0; // ask the replay at once for what the new engine published before this subscription
            }
            if (sub == null) {
                sub = subscribe();
            }
            if (System.nanoTime() - lastHeard > PROBE_NANOS) {
                probe();
                lastHeard = System.nanoTime();
            }
            byte[] first;
            try {
                first = sub.recv();
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "KV events of {0}: {1}", workerId, e.getMessage());
                continue;
            }
            if (first == null) {
                continue;
            }
            List<byte[]> frames = new ArrayList<>();
            frames.add(first);
            while (sub.hasReceiveMore()) {
                frames.add(sub.recv());
            }
            if (frames.size() < 3 || frames.get(frames.size() - 2).length != 8) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "KV events of {0}: a message of {1} frames",
                        workerId,
                        frames.size());
                continue;
            }
            long seq = ByteBuffer.wrap(frames.get(frames.size() - 2)).getLong();
            received(seq, frames.getLast());
            lastHeard = System.nanoTime();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void received(long seq, byte[] payload) {
        if (seq < expected) {
            // numbers start again: the engine restarted with an empty cache; what it sent first may be missed
            reset("the publisher's sequence restarted at " + seq + " (expected " + expected + ")");
            expected = 0;
        }
        if (seq > expected) {
            fill(replay(expected, REPLAY_TIMEOUT_MS));
            if (expected < seq) {
                reset("batches " + expected + ".." + (seq - 1) + " are lost and the replay did not return them");
                expected = seq;
            }
        }
        if (seq == expected) { // else the replay already brought it
            apply(payload);
            expected = seq + 1;
        }
    }

    /** Asks the replay for anything after the last batch applied. */
    private void probe() {
        TreeMap<Long, byte[]> got = replay(expected, PROBE_TIMEOUT_MS);
        if (!got.isEmpty() && got.firstKey() > expected) {
            reset("batches from " + expected + " are lost and the replay starts at " + got.firstKey());
            expected = got.firstKey();
        }
        fill(got);
    }

    private void fill(TreeMap<Long, byte[]> batches) {
        while (batches.containsKey(expected)) {
            apply(batches.get(expected));
            expected++;
        }
    }

    /**
     * Asks the replay endpoint for the batches from {@code from} on, within {@code timeoutMillis}. A request that
     * draws no answer within a second is sent again on a fresh socket (asking again is harmless: the replay only
     * resends): a first message on a new connection was seen to go unanswered now and then.
     */
    private TreeMap<Long, byte[]> replay(long from, int timeoutMillis) {
        TreeMap<Long, byte[]> out = new TreeMap<>();
        if (replayEndpoint == null) {
            return out;
        }
        replayRequests++;
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            int left = (int) ((deadline - System.nanoTime()) / 1_000_000L);
            if (left <= 0) {
                LOG.log(System.Logger.Level.DEBUG, "KV events of {0}: the replay did not answer", workerId);
                return out;
            }
            Boolean answered = askReplay(from, Math.min(left, ATTEMPT_MILLIS), out);
            if (answered == null || answered) {
                return out;
            }
        }
    }

    /** One replay request on a fresh DEALER: true when answered to the end, false when silent, null on failure. */
    private Boolean askReplay(long from, int timeoutMillis, TreeMap<Long, byte[]> out) {
        ZMQ.Socket dealer = ctx.createSocket(SocketType.DEALER);
        try {
            dealer.setReceiveTimeOut(timeoutMillis);
            dealer.setSendTimeOut(timeoutMillis); // no peer yet (the engine is starting): do not block
            dealer.setLinger(0);
            dealer.connect(peer(replayEndpoint));
            // a DEALER sends the empty delimiter a REQ would add itself
            if (!dealer.sendMore(new byte[0])
                    || !dealer.send(ByteBuffer.allocate(8).putLong(from).array())) {
                return false;
            }
            boolean any = false;
            while (true) {
                List<byte[]> frames = new ArrayList<>();
                byte[] f = dealer.recv();
                if (f == null) {
                    return any ? null : false; // silent from the start: ask again; cut off midway: give up
                }
                any = true;
                frames.add(f);
                while (dealer.hasReceiveMore()) {
                    frames.add(dealer.recv());
                }
                // [empty, (topic,) seq, payload]: the seq is the 8-byte frame before the payload
                if (frames.size() < 3 || frames.get(frames.size() - 2).length != 8) {
                    return null;
                }
                long seq = ByteBuffer.wrap(frames.get(frames.size() - 2)).getLong();
                if (seq < 0) {
                    return true;
                }
                out.put(seq, frames.getLast());
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "KV events of {0}: replay failed: {1}", workerId, e.getMessage());
            return null;
        } finally {
            ctx.destroySocket(dealer);
        }
    }

    private void apply(byte[] payload) {
        List<VllmEvent> events;
        try {
            events = VllmEventDecoder.decode(payload);
        } catch (Exception e) {
            // An undecodable batch leaves the index unsure of this worker: start it over rather than guess.
            reset("a batch could not be decoded: " + e.getMessage());
            return;
        }
        republisher.publish(events);
    }

    private void reset(String why) {
        republisher.reset(why);
    }

    /** The blocks held now, as of the last event id published. */
    @Override
    public KvStateDump dump() {
        return republisher.dump();
    }

    long replayRequests() {
        return replayRequests;
    }

    long resets() {
        return republisher.resets();
    }

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ctx.close();
    }
}
