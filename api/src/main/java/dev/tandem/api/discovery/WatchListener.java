package dev.tandem.api.discovery;

/** Receives watch events; must not block for long (it delays the events after it). */
@FunctionalInterface
public interface WatchListener {

    void onEvent(WatchEvent event);
}
