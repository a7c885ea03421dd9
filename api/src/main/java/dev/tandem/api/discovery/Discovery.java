package dev.tandem.api.discovery;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * A small key-value store with leases and watches: etcd in a cluster, an in-memory map in the embedded default.
 * Workers register keys under a lease that they keep alive; when the lease lapses their keys vanish everywhere.
 *
 * <p>Thread safety: all methods may be called from any thread. Watch listeners are called on a thread owned by the
 * implementation, in revision order, one call at a time per watch.
 */
public interface Discovery extends AutoCloseable {

    /** Grants a lease that the implementation keeps alive (at about a third of its TTL) until revoked or closed. */
    Lease grantLease(Duration ttl) throws IOException;

    /** Writes {@code key}; with a lease, the key is deleted when the lease ends. */
    void put(String key, byte[] value, Lease lease) throws IOException;

    /** Writes {@code key} only if it does not exist; returns whether it wrote. */
    boolean putIfAbsent(String key, byte[] value, Lease lease) throws IOException;

    void delete(String key) throws IOException;

    /** Every key under {@code prefix}, in key order. */
    List<KeyValue> list(String prefix) throws IOException;

    /**
     * Watches {@code prefix}: the listener first receives a {@link WatchEvent.Put} for every existing key, then
     * every change after that, without gaps.
     */
    Watch watch(String prefix, WatchListener listener) throws IOException;

    @Override
    void close();
}
