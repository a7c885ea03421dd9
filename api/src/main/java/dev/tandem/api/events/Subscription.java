package dev.tandem.api.events;

/** An active subscription; closing it stops deliveries. */
public interface Subscription extends AutoCloseable {

    @Override
    void close();
}
