package dev.tandem.api.discovery;

/**
 * The key layout in discovery, a contract between frontends and workers:
 * {@code tandem/v1/instances/{namespace}/{component}/{endpoint}/{instance-id}} and
 * {@code tandem/v1/models/{namespace}/{model}/{instance-id}}.
 */
public final class DiscoveryKeys {

    public static final String ROOT = "tandem/v1/";
    public static final String DEFAULT_NAMESPACE = "default";

    private DiscoveryKeys() {}

    public static String instance(String namespace, String component, String endpoint, String instanceId) {
        return ROOT + "instances/" + namespace + "/" + component + "/" + endpoint + "/" + instanceId;
    }

    public static String model(String namespace, String model, String instanceId) {
        return ROOT + "models/" + namespace + "/" + model + "/" + instanceId;
    }

    /** Prefix of every model card of a namespace. */
    public static String modelsPrefix(String namespace) {
        return ROOT + "models/" + namespace + "/";
    }

    /** The instance id at the end of a key. */
    public static String instanceIdOf(String key) {
        return key.substring(key.lastIndexOf('/') + 1);
    }
}
