package dev.tandem.adapters.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.adapters.process.LoopbackPorts;
import dev.tandem.api.kv.KvEventBatch;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * The subscriber against a publisher that speaks vLLM's ZMQ protocol (PUB frames {@code [topic, seq, payload]}, a
 * ROUTER replaying {@code [empty, seq, payload]} then seq -1): gaps are filled in order before newer batches, a gap
 * that cannot be filled and a restarted sequence drop the worker's blocks before anything newer applies.
 */
class ZmqKvEventSubscriberTest {

    private static final int BS = 4;

    /** vLLM's publisher, reduced to what the protocol needs. */
    private static final class FakePublisher implements AutoCloseable {
        final ZContext ctx = new ZContext();
        final ZMQ.Socket pub = ctx.createSocket(SocketType.PUB);
        final ConcurrentSkipListMap<Long, byte[]> buffer = new ConcurrentSkipListMap<>();
        final int pubPort;
        final int replayPort;
        final Thread replay;
        volatile boolean closed;
        volatile boolean replayAnswers = true;

        FakePublisher() throws Exception {
            this(LoopbackPorts.distinct(2));
        }

        FakePublisher(int[] ports) throws Exception {
            this(ports[0], ports[1]);
        }

        FakePublisher(int pubPort, int replayPort) throws Exception {
            this.pubPort = pubPort;
            this.replayPort = replayPort;
            pub.bind("tcp://127.0.0.1:" + pubPort);
            ZMQ.Socket router = ctx.createSocket(SocketType.ROUTER);
            router.setReceiveTimeOut(100);
            router.bind("tcp://127.0.0.1:" + replayPort);
            replay = new Thread(() -> {
                while (!closed) {
                    byte[] ident = router.recv();
                    if (ident == null) {
                        continue;
                    }
                    router.recv(); // the empty delimiter
                    long start = ByteBuffer.wrap(router.recv()).getLong();
                    if (replayAnswers) {
                        for (var e : buffer.tailMap(start).entrySet()) {
                            router.sendMore(ident);
                            router.sendMore(new byte[0]);
                            router.sendMore(seq(e.getKey()));
                            router.send(e.getValue());
                        }
                    }
                    router.sendMore(ident);
                    router.sendMore(new byte[0]);
                    router.sendMore(seq(-1));
                    router.send(new byte[0]);
                }
            });
            replay.start();
        }

        void publish(long seq, byte[] payload, boolean withhold) {
            buffer.put(seq, payload);
            if (!withhold) {
                pub.sendMore("kv-events");
                pub.sendMore(seq(seq));
                pub.send(payload);
            }
        }

        @Override
        public void close() throws Exception {
            closed = true;
            replay.join();
            ctx.close();
        }
    }

    private static byte[] seq(long s) {
        return ByteBuffer.allocate(8).putLong(s).array();
    }

    private FakePublisher publisher;
    private ZmqKvEventSubscriber subscriber;
    private final List<KvEventBatch> published = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        publisher = new FakePublisher();
        subscriber = new ZmqKvEventSubscriber(
                "w0",
                "tcp://*:" + publisher.pubPort,
                "tcp://*:" + publisher.replayPort,
                "kv-events",
                BS,
                published::add);
        subscriber.start();
        Thread.sleep(300); // let the SUB connect; what it still misses, the replay brings
    }

    @AfterEach
    void stop() throws Exception {
        subscriber.close();
        publisher.close();
    }

    private static byte[] stored(long hash, int firstToken) throws Exception {
        int[] t = new int[BS];
        for (int i = 0; i < BS; i++) {
            t[i] = firstToken + i;
        }
        return VllmEvents.batch(
                true,
                true,
                List.of(new VllmEvents.Stored(new BigInteger[] {BigInteger.valueOf(hash)}, null, t, BS, null)));
    }

    private static byte[] removed(long hash) throws Exception {
        return VllmEvents.batch(
                false, false, List.of(new VllmEvents.Removed(new BigInteger[] {BigInteger.valueOf(hash)})));
    }

    private void awaitBatches(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (published.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(published).as("published batches").hasSize(n);
        for (int i = 0; i < n; i++) {
            assertThat(published.get(i).eventId())
                    .as("Tandem event ids run 1, 2, 3, ...")
                    .isEqualTo(i + 1);
        }
    }

    private List<String> kinds() {
        return published.stream()
                .map(b -> b.events().getFirst().getClass().getSimpleName())
                .toList();
    }

    @Test
    void aGapIsFilledFromTheReplayBeforeNewerBatchesApply() throws Exception {
        publisher.publish(0, stored(1, 10), false);
        publisher.publish(1, stored(2, 20), true); // only the replay has it
        publisher.publish(2, removed(1), false);
        awaitBatches(3);
        assertThat(kinds()).containsExactly("BlockStored", "BlockStored", "BlockRemoved");
        assertThat(subscriber.replayRequests()).isPositive();
        assertThat(subscriber.dump().blockHashes()).hasSize(1);
        assertThat(subscriber.dump().lastEventId()).isEqualTo(3);
    }

    @Test
    void aGapTheReplayCannotFillDropsTheWorkersBlocksBeforeNewerOnes() throws Exception {
        publisher.publish(0, stored(1, 10), false);
        awaitBatches(1);
        publisher.replayAnswers = false;
        publisher.publish(1, stored(2, 20), true);
        publisher.publish(2, stored(3, 30), false);
        awaitBatches(3);
        assertThat(kinds()).containsExactly("BlockStored", "AllBlocksCleared", "BlockStored");
        assertThat(subscriber.dump().blockHashes())
                .as("only the block after the reset")
                .hasSize(1);
    }

    @Test
    void aPublisherWhoseSequenceStartsAgainResetsTheIndex() throws Exception {
        publisher.publish(0, stored(1, 10), false);
        publisher.publish(1, stored(2, 20), false);
        awaitBatches(2);
        publisher.buffer.clear(); // the engine restarted: a new publisher, numbering from 0
        publisher.publish(0, stored(5, 50), false);
        awaitBatches(4);
        assertThat(kinds().subList(2, 4)).containsExactly("AllBlocksCleared", "BlockStored");
        assertThat(subscriber.resets()).isEqualTo(1);
    }

    @Test
    void aSubscriberStartedBeforeItsPublisherBindsStillReceivesAndReplays() throws Exception {
        // the engine starts after the worker subscribed: its publisher binds later, on the same ports
        int[] ports = LoopbackPorts.distinct(2);
        int pubPort = ports[0];
        int replayPort = ports[1];
        List<KvEventBatch> got = new CopyOnWriteArrayList<>();
        try (ZmqKvEventSubscriber early = new ZmqKvEventSubscriber(
                "w1", "tcp://*:" + pubPort, "tcp://*:" + replayPort, "kv-events", BS, got::add)) {
            early.start();
            Thread.sleep(2500); // long enough for a probe against nobody
            try (FakePublisher late = new FakePublisher(pubPort, replayPort)) {
                Thread.sleep(300);
                late.publish(0, stored(1, 10), false);
                late.publish(1, stored(2, 20), true);
                late.publish(2, stored(3, 30), false);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (got.size() < 3 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(got)
                        .as("batches received from a publisher that bound after the subscriber")
                        .hasSize(3);
            }
        }
    }
}
