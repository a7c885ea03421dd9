package dev.tandem.api.kv.connector;

import java.util.Map;

/**
 * Makes connectors of one kind, found through {@link java.util.ServiceLoader} by {@link #name()} ({@code peer},
 * {@code host}, {@code disk}).
 */
public interface KvConnectorProvider {

    String name();

    /**
     * A connector for the worker {@code workerId}.
     *
     * @param options settings of this kind (sizes, directories); an unknown key is an error
     * @throws IllegalArgumentException for invalid options
     */
    KvConnector create(String workerId, Map<String, String> options);
}
