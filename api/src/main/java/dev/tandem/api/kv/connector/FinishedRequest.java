package dev.tandem.api.kv.connector;

/**
 * A connector's answer to "this request ended".
 *
 * @param holdBlocks keep the request's blocks until the connector reports the request in
 *     {@link FinishedTransfers#sent()} (a peer will pull them; the connector also reports it when its lease expires)
 * @param kvTransferParams what the caller passes to the worker that continues the request (a JSON object), or null
 */
public record FinishedRequest(boolean holdBlocks, String kvTransferParams) {

    public static final FinishedRequest RELEASE = new FinishedRequest(false, null);
}
