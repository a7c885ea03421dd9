package dev.tandem.api.discovery;

/** One stored key with the revision that last wrote it. */
public record KeyValue(String key, byte[] value, long revision) {}
