package dev.tandem.api.kv.connector;

/**
 * What the scheduler half of a connector hands its worker half for one step (vLLM's
 * {@code KVConnectorMetadata}); each connector defines its own.
 */
public interface ConnectorMetadata {

    /** A step with nothing for the connector to do. */
    ConnectorMetadata EMPTY = new ConnectorMetadata() {};
}
