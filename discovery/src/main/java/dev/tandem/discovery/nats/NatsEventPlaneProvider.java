package dev.tandem.discovery.nats;

import dev.tandem.api.events.EventPlane;
import dev.tandem.api.events.EventPlaneProvider;
import java.io.IOException;
import java.net.URI;

/** {@code nats://host:port[,host:port...]} — the event plane on a NATS server or cluster (see {@link NatsEventPlane}). */
public final class NatsEventPlaneProvider implements EventPlaneProvider {

    @Override
    public String scheme() {
        return "nats";
    }

    @Override
    public EventPlane create(URI uri) throws IOException {
        return NatsEventPlane.connect(uri);
    }
}
