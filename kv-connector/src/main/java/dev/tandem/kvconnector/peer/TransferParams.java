package dev.tandem.kvconnector.peer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The peer connector's KV-transfer parameters, in the field names of vLLM's NixlConnector so that the same JSON
 * object can cross the vLLM adapter: a prefill request carries {@code {"do_remote_decode": true}}; the prefill's
 * answer carries {@code do_remote_prefill}, {@code remote_engine_id}, {@code remote_host}, {@code remote_port},
 * {@code remote_request_id} (the transfer id), {@code remote_block_ids}, plus Tandem's {@code remote_tokens} (tokens
 * whose KV the blocks hold), {@code kv_layout} and {@code lease_ms}.
 *
 * @param doRemoteDecode keep this request's KV for another worker
 * @param doRemotePrefill the KV of this request's first {@code remoteTokens} tokens is to be pulled
 */
record TransferParams(
        boolean doRemoteDecode,
        boolean doRemotePrefill,
        String engineId,
        String host,
        int port,
        String transferId,
        int[] blockIds,
        int remoteTokens,
        String layout,
        long leaseMillis) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The parameters in {@code json}, or null when there are none or they are not this connector's. */
    static TransferParams parse(String json) {
        if (json == null || json.isBlank()) {
            return null;
        }
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            return null;
        }
        if (!(n instanceof ObjectNode)) {
            return null;
        }
        int[] blocks = new int[0];
        if (n.get("remote_block_ids") instanceof ArrayNode a) {
            blocks = new int[a.size()];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = a.get(i).asInt();
            }
        }
        return new TransferParams(
                n.path("do_remote_decode").asBoolean(false),
                n.path("do_remote_prefill").asBoolean(false),
                n.path("remote_engine_id").asText(""),
                n.path("remote_host").asText(""),
                n.path("remote_port").asInt(0),
                n.path("remote_request_id").asText(""),
                blocks,
                n.path("remote_tokens").asInt(0),
                n.path("kv_layout").asText(""),
                n.path("lease_ms").asLong(0));
    }

    /** The parameters a prefill returns for the worker that continues. */
    String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("do_remote_prefill", true);
        o.put("do_remote_decode", false);
        o.put("remote_engine_id", engineId);
        o.put("remote_host", host);
        o.put("remote_port", port);
        o.put("remote_request_id", transferId);
        ArrayNode a = o.putArray("remote_block_ids");
        for (int b : blockIds) {
            a.add(b);
        }
        o.put("remote_tokens", remoteTokens);
        o.put("kv_layout", layout);
        o.put("lease_ms", leaseMillis);
        return o.toString();
    }

    /** What a caller sends a prefill worker so that it keeps the prompt's KV. */
    static String remoteDecodeRequest() {
        return "{\"do_remote_decode\":true}";
    }

    /** {@code host:port} of the worker holding the blocks. */
    String address() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
}
