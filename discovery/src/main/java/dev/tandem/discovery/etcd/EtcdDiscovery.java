package dev.tandem.discovery.etcd;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.discovery.KeyValue;
import dev.tandem.api.discovery.Lease;
import dev.tandem.api.discovery.Watch;
import dev.tandem.api.discovery.WatchListener;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Discovery on etcd (v3 API, through jetcd): what a cluster of Tandem processes shares.
 *
 * <ul>
 *   <li>Leases are kept alive by jetcd's keep-alive stream (a keep-alive at a third of the TTL the server grants);
 *       {@link Lease#isAlive()} turns false when a keep-alive answer says the lease is gone, or when no keep-alive has
 *       succeeded for a whole TTL. {@link #close()} stops the keep-alives without revoking: the keys then vanish
 *       when the TTL runs out, as they would if the process had crashed.
 *   <li>{@link #putIfAbsent} is a transaction on {@code create_revision == 0}.
 *   <li>A watch lists its prefix at a revision R, then watches from R+1 and resumes after every failure from the last
 *       revision it delivered plus one; when that revision has been compacted away it lists the prefix again and
 *       reports the difference (see {@link EtcdWatch}).
 *   <li>While etcd is unreachable, calls wait for it up to the operation timeout (10 s by default) and then fail with
 *       an {@link IOException}; the gRPC channel reconnects with a backoff capped at 2 s ({@link ReconnectPacer}).
 * </ul>
 */
public final class EtcdDiscovery implements Discovery {

    private static final System.Logger LOG = System.getLogger(EtcdDiscovery.class.getName());

    /** The default port of an endpoint given without one. */
    public static final int DEFAULT_PORT = 2379;

    public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(10);

    /** The largest gRPC message accepted: bounds the size of one list (etcd's own default request limit is 1.5 MiB). */
    private static final int MAX_INBOUND_MESSAGE_BYTES = 64 << 20;

    private static final byte[] ALL_KEYS = {0};

    final Client client;
    private final List<String> endpoints;
    private final Duration operationTimeout;
    private final ReconnectPacer pacer;
    private final List<EtcdWatch> watches = new CopyOnWriteArrayList<>();
    private final List<EtcdLease> leases = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** Connects (lazily: the first call opens the connection) to the etcd cluster at {@code endpoints}. */
    public EtcdDiscovery(List<String> endpoints, Duration operationTimeout) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("no etcd endpoints");
        }
        this.endpoints = List.copyOf(endpoints);
        this.operationTimeout = operationTimeout;
        this.client = Client.builder()
                .endpoints(endpoints.toArray(String[]::new))
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                // Detects a silently dead connection (a partition rather than a restart) within ~10 s.
                .keepaliveTime(Duration.ofSeconds(5))
                .keepaliveTimeout(Duration.ofSeconds(5))
                .build();
        this.pacer = ReconnectPacer.start(client, "etcd " + String.join(",", endpoints));
    }

    /** {@code etcd://host:port[,host:port...]}: endpoints {@code http://host:port}. */
    public static EtcdDiscovery connect(URI uri) {
        return new EtcdDiscovery(endpoints(uri), DEFAULT_OPERATION_TIMEOUT);
    }

    /** The client endpoints of an {@code etcd://host:port[,host:port...]} URI, as {@code http://host:port}. */
    public static List<String> endpoints(URI uri) {
        if (!"etcd".equals(uri.getScheme())) {
            throw new IllegalArgumentException("not an etcd URI (etcd://host:port[,host:port...]): " + uri);
        }
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isBlank()) {
            throw new IllegalArgumentException("no host in etcd URI (etcd://host:port[,host:port...]): " + uri);
        }
        List<String> out = new ArrayList<>();
        for (String part : authority.split(",")) {
            String hostPort = part.strip();
            if (hostPort.isEmpty()) {
                throw new IllegalArgumentException("empty endpoint in etcd URI " + uri);
            }
            if (hostPort.contains("@")) {
                throw new IllegalArgumentException("credentials in etcd URIs are not supported: " + uri);
            }
            boolean hasPort = hostPort.startsWith("[") ? hostPort.contains("]:") : hostPort.contains(":");
            out.add("http://" + (hasPort ? hostPort : hostPort + ":" + DEFAULT_PORT));
        }
        return List.copyOf(out);
    }

    public List<String> endpoints() {
        return endpoints;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Leases

    @Override
    public Lease grantLease(Duration ttl) throws IOException {
        ensureOpen();
        long seconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
        LeaseGrantResponse granted = await(client.getLeaseClient().grant(seconds), "grant a lease");
        EtcdLease lease = new EtcdLease(this, granted.getID(), granted.getTTL());
        leases.add(lease);
        lease.startKeepAlive(client.getLeaseClient());
        return lease;
    }

    void revoke(EtcdLease lease) {
        leases.remove(lease);
        if (closed) {
            return;
        }
        try {
            await(client.getLeaseClient().revoke(lease.id()), "revoke lease " + Long.toHexString(lease.id()));
        } catch (IllegalStateException e) {
            // Already gone on the server (expired, or revoked elsewhere): its keys are gone too.
        } catch (IOException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "could not revoke lease {0}; its keys vanish when its TTL runs out: {1}",
                    Long.toHexString(lease.id()),
                    e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Keys

    @Override
    public void put(String key, byte[] value, Lease lease) throws IOException {
        ensureOpen();
        await(client.getKVClient().put(bytes(key), ByteSequence.from(value.clone()), putOption(lease)), "put " + key);
    }

    @Override
    public boolean putIfAbsent(String key, byte[] value, Lease lease) throws IOException {
        ensureOpen();
        ByteSequence k = bytes(key);
        TxnResponse r = await(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                        .Then(Op.put(k, ByteSequence.from(value.clone()), putOption(lease)))
                        .commit(),
                "put-if-absent " + key);
        return r.isSucceeded();
    }

    private static PutOption putOption(Lease lease) {
        if (lease == null) {
            return PutOption.DEFAULT;
        }
        if (lease instanceof EtcdLease el && !el.isAlive()) {
            throw new IllegalStateException("lease " + Long.toHexString(el.id()) + " is not alive");
        }
        return PutOption.builder().withLeaseId(lease.id()).build();
    }

    @Override
    public void delete(String key) throws IOException {
        ensureOpen();
        await(client.getKVClient().delete(bytes(key)), "delete " + key);
    }

    @Override
    public List<KeyValue> list(String prefix) throws IOException {
        ensureOpen();
        return toKeyValues(get(prefix));
    }

    /** Every key under {@code prefix} in key order, with the store revision of the read. */
    GetResponse get(String prefix) throws IOException {
        GetOption option = GetOption.builder()
                .withRange(rangeEnd(prefix))
                .withSortField(GetOption.SortTarget.KEY)
                .withSortOrder(GetOption.SortOrder.ASCEND)
                .build();
        return await(client.getKVClient().get(rangeStart(prefix), option), "list " + prefix);
    }

    static List<KeyValue> toKeyValues(GetResponse r) {
        List<KeyValue> out = new ArrayList<>(r.getKvs().size());
        for (io.etcd.jetcd.KeyValue kv : r.getKvs()) {
            out.add(toKeyValue(kv));
        }
        return out;
    }

    static KeyValue toKeyValue(io.etcd.jetcd.KeyValue kv) {
        return new KeyValue(text(kv.getKey()), kv.getValue().getBytes(), kv.getModRevision());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Watches

    @Override
    public Watch watch(String prefix, WatchListener listener) throws IOException {
        ensureOpen();
        GetResponse snapshot = get(prefix);
        EtcdWatch w = new EtcdWatch(this, prefix, listener, snapshot);
        watches.add(w);
        w.start();
        return w;
    }

    void removed(EtcdWatch w) {
        watches.remove(w);
    }

    io.etcd.jetcd.Watch watchClient() {
        return client.getWatchClient();
    }

    // ---------------------------------------------------------------------------------------------------------------

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watches.forEach(EtcdWatch::close);
        watches.clear();
        // Keep-alives stop; the leases (and their keys) live on until their TTL runs out.
        leases.forEach(EtcdLease::stopKeepAlive);
        leases.clear();
        pacer.close();
        client.close();
    }

    boolean isClosed() {
        return closed;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("etcd discovery is closed");
        }
    }

    /** Waits for {@code f} up to the operation timeout; etcd errors become IOExceptions, a missing lease an ISE. */
    <T> T await(CompletableFuture<T> f, String what) throws IOException {
        try {
            return f.get(operationTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("etcd: " + what + ": interrupted");
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new IOException(
                    "etcd: " + what + ": no answer from " + String.join(",", endpoints) + " within " + operationTimeout,
                    e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (isLeaseNotFound(cause)) {
                throw new IllegalStateException("etcd: " + what + ": the lease is not alive", cause);
            }
            throw new IOException("etcd: " + what + " failed: " + cause.getMessage(), cause);
        }
    }

    /** Whether {@code t} (or a cause) is etcd's "requested lease not found" (a jetcd or a gRPC exception). */
    static boolean isLeaseNotFound(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage();
            if (m != null && m.toLowerCase(Locale.ROOT).contains("requested lease not found")) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Key encoding: UTF-8; a prefix is the range [prefix, prefix with its last byte incremented).

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    static ByteSequence rangeStart(String prefix) {
        return prefix.isEmpty() ? ByteSequence.from(ALL_KEYS) : bytes(prefix);
    }

    /** The end (exclusive) of the range of keys that start with {@code prefix}; {@code "\0"} means no end. */
    static ByteSequence rangeEnd(String prefix) {
        byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
        for (int i = p.length - 1; i >= 0; i--) {
            if (p[i] != (byte) 0xff) {
                byte[] end = Arrays.copyOf(p, i + 1);
                end[i]++;
                return ByteSequence.from(end);
            }
        }
        return ByteSequence.from(ALL_KEYS);
    }
}
