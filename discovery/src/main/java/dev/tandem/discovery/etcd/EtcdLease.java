package dev.tandem.discovery.etcd;

import dev.tandem.api.discovery.Lease;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;

/**
 * An etcd lease kept alive by jetcd's keep-alive stream, which sends a keep-alive a third of the TTL after the last
 * answer and re-opens the stream (every 500 ms) while etcd is unreachable.
 *
 * <p>Alive means: not revoked, the server has not said the lease is gone, and the last successful keep-alive (or the
 * grant) is less than one TTL old. etcd restarted on its data directory restores its leases with a fresh TTL, so a
 * lease outlives a restart that is shorter than its TTL.
 */
final class EtcdLease implements Lease {

    private static final System.Logger LOG = System.getLogger(EtcdLease.class.getName());

    private final EtcdDiscovery owner;
    private final long id;
    private volatile long deadlineNanos;
    private volatile boolean ended;
    private boolean revoked;
    private volatile CloseableClient keepAlive;

    EtcdLease(EtcdDiscovery owner, long id, long ttlSeconds) {
        this.owner = owner;
        this.id = id;
        this.deadlineNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(ttlSeconds);
    }

    void startKeepAlive(io.etcd.jetcd.Lease leaseClient) {
        keepAlive = leaseClient.keepAlive(id, new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
                if (r.getTTL() > 0) {
                    deadlineNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(r.getTTL());
                }
            }

            @Override
            public void onError(Throwable t) {
                if (EtcdDiscovery.isLeaseNotFound(t)) {
                    end("etcd no longer knows it");
                } else if (!ended) {
                    // The keep-alive stream broke (etcd restarting, network): jetcd re-opens it; the lease stays
                    // alive until its deadline.
                    LOG.log(
                            System.Logger.Level.DEBUG,
                            "lease {0}: keep-alive stream failed, retrying: {1}",
                            Long.toHexString(id),
                            t.getMessage());
                }
            }

            @Override
            public void onCompleted() {
                // jetcd ends an observer when no keep-alive succeeded for a whole TTL (or when its client closes).
                end("no keep-alive succeeded within its TTL");
            }
        });
    }

    private void end(String why) {
        if (!ended) {
            ended = true;
            if (!owner.isClosed()) {
                LOG.log(System.Logger.Level.WARNING, "lease {0} ended: {1}", Long.toHexString(id), why);
            }
        }
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public boolean isAlive() {
        return !ended && System.nanoTime() - deadlineNanos < 0;
    }

    /** Stops the keep-alives without revoking: the lease runs out after its TTL. */
    void stopKeepAlive() {
        ended = true;
        CloseableClient k = keepAlive;
        if (k != null) {
            k.close();
        }
    }

    @Override
    public void revoke() {
        synchronized (this) {
            if (revoked) {
                return;
            }
            revoked = true;
        }
        stopKeepAlive();
        owner.revoke(this);
    }

    @Override
    public String toString() {
        return "EtcdLease[" + Long.toHexString(id) + (isAlive() ? "" : ", ended") + "]";
    }
}
