package dev.tandem.api.kv.connector;

import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.kv.KvEvent;
import java.util.List;
import java.util.Set;

/**
 * Moves KV blocks between an engine's primary cache and somewhere else: another worker (disaggregated prefill,
 * cross-worker prefix reuse), host memory, disk. The shape of vLLM's {@code KVConnectorBase_V1}, so that a bridge
 * to vLLM maps one method to one method; the built-in engine calls it where vLLM's scheduler and model runner do.
 *
 * <p><b>Scheduler half</b> (the engine's scheduling thread): {@link #matchedTokens} when a request is admitted,
 * {@link #afterAllocation} once blocks are allocated for the external tokens, {@link #buildMetadata} once per step,
 * {@link #requestFinished} when a request ends, {@link #onBlockEvicted} when the primary cache reuses a block that
 * still held a cached prefix, {@link #takeEvents} for the KV events of the connector's own tiers.
 *
 * <p><b>Worker half</b> (the thread that computes the step, around the forward pass): {@link #startLoad} before
 * it, {@link #waitForLayerLoad} before a layer reads its KV, {@link #saveLayer} after a layer wrote its KV,
 * {@link #waitForSave} after the last layer; {@link #finished} and {@link #failedBlockLoads} report asynchronous
 * transfers that completed.
 *
 * <p>Connectors never produce wrong output: a load that fails reports its blocks through {@link #failedBlockLoads}
 * and the engine recomputes those tokens.
 */
public interface KvConnector extends AutoCloseable {

    /** A short name for logs and metrics ({@code peer}, {@code host}, {@code disk}, {@code multi}). */
    String name();

    /** Called once, before any other method, with the engine's KV store and a way to wake its scheduling thread. */
    void register(KvConnectorContext context);

    // ---- scheduler half ----

    /**
     * How many tokens of {@code request} beyond its {@code computedTokens} (the locally cached prefix, a whole number
     * of blocks) this connector can provide (vLLM's {@code get_num_new_matched_tokens}).
     */
    MatchedTokens matchedTokens(ConnectorRequest request, int computedTokens);

    /**
     * Blocks were allocated for the {@code externalTokens} tokens this connector matched: {@code blockIds} is the
     * request's whole block table, the external tokens start at position {@code computedTokens} (vLLM's
     * {@code update_state_after_alloc}). An asynchronous connector starts its load here or in
     * {@link #startLoad}; a synchronous one loads in {@link #startLoad} of the same step.
     */
    default void afterAllocation(ConnectorRequest request, int[] blockIds, int computedTokens, int externalTokens) {}

    /** What the worker half needs for the step being scheduled (vLLM's {@code build_connector_meta}). */
    default ConnectorMetadata buildMetadata() {
        return ConnectorMetadata.EMPTY;
    }

    /**
     * {@code request} ended with {@code reason}; {@code blockIds} hold its computed KV (vLLM's
     * {@code request_finished}). The answer says whether the engine must keep the blocks until this connector reports
     * the request in {@link FinishedTransfers#sent()}, and the transfer parameters to return to the caller.
     */
    default FinishedRequest requestFinished(ConnectorRequest request, FinishReason reason, int[] blockIds) {
        return FinishedRequest.RELEASE;
    }

    /**
     * The primary cache is about to reuse {@code blockId}, which held the full block with chained hash
     * {@code blockHash} ({@code parentHash} before it, null for a first block). Its KV is still intact during this
     * call and is overwritten after it: a tier that keeps it copies it now.
     */
    default void onBlockEvicted(int blockId, long blockHash, Long parentHash) {}

    /** KV events of this connector's own tiers since the last call (vLLM's {@code take_events}). */
    default List<KvEvent> takeEvents() {
        return List.of();
    }

    // ---- worker half ----

    /** Starts the synchronous loads of the step described by {@code metadata} (vLLM's {@code start_load_kv}). */
    default void startLoad(ConnectorMetadata metadata) {}

    /** Blocks until layer {@code layer}'s loads of this step are in place (vLLM's {@code wait_for_layer_load}). */
    default void waitForLayerLoad(int layer) {}

    /** Layer {@code layer}'s KV of this step is computed (vLLM's {@code save_kv_layer}). */
    default void saveLayer(int layer, ConnectorMetadata metadata) {}

    /** Blocks until this step's saves are done with the KV store (vLLM's {@code wait_for_save}). */
    default void waitForSave() {}

    /**
     * Requests whose asynchronous transfers completed since the last call (vLLM's {@code get_finished}): held
     * blocks that may now be freed ({@code sent}), loads that are in place ({@code received}).
     */
    default FinishedTransfers finished() {
        return FinishedTransfers.NONE;
    }

    /**
     * Blocks whose load failed since the last call (vLLM's {@code get_block_ids_with_load_errors}): the engine
     * recomputes the tokens they were to hold.
     */
    default Set<Integer> failedBlockLoads() {
        return Set.of();
    }

    /** gRPC services this connector serves beside the worker's request plane (the peer transfer service). */
    default List<io.grpc.BindableService> services() {
        return List.of();
    }

    /** Where {@link #services()} are reachable ({@code host:port}), once the server hosting them listens. */
    default void advertise(String address) {}

    @Override
    default void close() {}
}
