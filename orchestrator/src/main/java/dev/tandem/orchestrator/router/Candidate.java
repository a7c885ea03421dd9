package dev.tandem.orchestrator.router;

/**
 * One eligible worker as a policy sees it.
 *
 * @param workerId the worker
 * @param overlapBlocks leading prompt blocks the worker already holds (from the KV index)
 * @param load what this router has in flight on the worker
 */
public record Candidate(String workerId, int overlapBlocks, ActiveLoad.WorkerLoad load) {}
