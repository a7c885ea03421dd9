package dev.tandem.api.events;

import java.util.function.Consumer;

/**
 * Fire-and-forget messages on subjects (NATS in a cluster, in-process in the embedded default). Subjects are
 * dot-separated tokens; subscriptions may use {@code *} (one token) and {@code >} (the rest).
 *
 * <p>Delivery is at most once, in publish order per subject and publisher. Handlers run on a thread of the
 * implementation, one message at a time per subscription.
 */
public interface EventPlane extends AutoCloseable {

    void publish(String subject, byte[] payload);

    Subscription subscribe(String subjectPattern, Consumer<EventMessage> handler);

    @Override
    void close();
}
