package dev.tandem.api.events;

/** Subject names on the event plane, a contract between workers and routers. */
public final class Subjects {

    private Subjects() {}

    /** KV event batches of one worker. */
    public static String kvEvents(String namespace, String workerId) {
        return "tandem.v1.kv." + namespace + "." + workerId;
    }

    public static String allKvEvents(String namespace) {
        return "tandem.v1.kv." + namespace + ".*";
    }

    /** Load snapshots of one worker. */
    public static String load(String namespace, String workerId) {
        return "tandem.v1.load." + namespace + "." + workerId;
    }

    public static String allLoad(String namespace) {
        return "tandem.v1.load." + namespace + ".*";
    }

    /** Routing decisions of router replicas, for replicas that share workers. */
    public static String routerSync(String namespace) {
        return "tandem.v1.router." + namespace;
    }
}
