package dev.tandem.api.kv;

/**
 * A worker's whole prefix cache: the chained hashes it holds, as of event {@code lastEventId}.
 *
 * @param workerId the worker
 * @param lastEventId the id of the last batch reflected here; batches after it apply on top
 * @param blockHashes cached chained block hashes, in no particular order
 */
public record KvStateDump(String workerId, long lastEventId, long[] blockHashes) {}
