package dev.tandem.discovery.memory;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Delivers items to one consumer, in order, on one virtual thread, so that a slow consumer never blocks the
 * producer. Bounded: when full, items are dropped and counted (the event plane is at-most-once; consumers detect the
 * gap through event ids).
 */
final class SerialQueue<T> implements AutoCloseable {

    private static final Object POISON = new Object();

    private final BlockingQueue<Object> queue;
    private final AtomicLong dropped = new AtomicLong();
    private final Thread thread;

    SerialQueue(String name, int capacity, Consumer<T> consumer) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = Thread.ofVirtual().name(name).start(() -> run(consumer));
    }

    @SuppressWarnings("unchecked")
    private void run(Consumer<T> consumer) {
        try {
            while (true) {
                Object item = queue.take();
                if (item == POISON) {
                    return;
                }
                try {
                    consumer.accept((T) item);
                } catch (RuntimeException e) {
                    System.getLogger(SerialQueue.class.getName())
                            .log(System.Logger.Level.WARNING, "consumer failed; continuing", e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Queues {@code item}; returns false (and counts a drop) when the queue is full. */
    boolean offer(T item) {
        if (queue.offer(item)) {
            return true;
        }
        dropped.incrementAndGet();
        return false;
    }

    long dropped() {
        return dropped.get();
    }

    @Override
    public void close() {
        queue.clear();
        if (!queue.offer(POISON)) {
            thread.interrupt();
        }
    }
}
