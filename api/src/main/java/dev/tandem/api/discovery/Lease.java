package dev.tandem.api.discovery;

/** A time-bounded claim that keeps keys alive; revoking it deletes them at once. */
public interface Lease {

    long id();

    /** Whether the lease is still held (keep-alives succeed). */
    boolean isAlive();

    void revoke();
}
