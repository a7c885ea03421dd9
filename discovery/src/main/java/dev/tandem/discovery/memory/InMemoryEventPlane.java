package dev.tandem.discovery.memory;

import dev.tandem.api.events.EventMessage;
import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.Subscription;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The event plane in one JVM: the embedded default. Each subscription has a bounded queue drained by its own
 * virtual thread, so publishers (engine threads) never block; a full queue drops messages, as NATS drops them for a
 * slow consumer, and consumers detect the gap through per-worker event ids.
 */
public final class InMemoryEventPlane implements EventPlane {

    static final int QUEUE_CAPACITY = 1 << 16;

    private final List<MemorySubscription> subscriptions = new CopyOnWriteArrayList<>();

    @Override
    public void publish(String subject, byte[] payload) {
        for (MemorySubscription s : subscriptions) {
            if (SubjectPattern.matches(s.pattern, subject)) {
                s.queue.offer(new EventMessage(subject, payload.clone()));
            }
        }
    }

    @Override
    public Subscription subscribe(String subjectPattern, Consumer<EventMessage> handler) {
        MemorySubscription s = new MemorySubscription(subjectPattern, handler);
        subscriptions.add(s);
        return s;
    }

    /** Messages dropped because a subscriber fell behind, over all subscriptions. */
    public long dropped() {
        return subscriptions.stream().mapToLong(s -> s.queue.dropped()).sum();
    }

    @Override
    public void close() {
        subscriptions.forEach(MemorySubscription::close);
        subscriptions.clear();
    }

    private final class MemorySubscription implements Subscription {
        final String pattern;
        final SerialQueue<EventMessage> queue;

        MemorySubscription(String pattern, Consumer<EventMessage> handler) {
            this.pattern = pattern;
            this.queue = new SerialQueue<>("events-" + pattern, QUEUE_CAPACITY, handler);
        }

        @Override
        public void close() {
            subscriptions.remove(this);
            queue.close();
        }
    }
}
