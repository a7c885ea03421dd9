package dev.tandem.api.discovery;

/** A running watch; closing it stops deliveries. */
public interface Watch extends AutoCloseable {

    @Override
    void close();
}
