package dev.tandem.orchestrator.frontend;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.Generation;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.proto.ModelCard;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.router.RoutingRequest;
import dev.tandem.orchestrator.runtime.WorkerPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The prefill half of a disaggregated request: decides whether a prompt is prefilled on another worker than its
 * decoder, and if so runs it there for one token with "decode elsewhere", returning that token and the transfer
 * parameters the decoder pulls the KV with.
 *
 * <p>Two reasons to prefill elsewhere: a <em>peer</em> holds at least {@code peerKvMinTokens} more of the prompt in
 * its cache than the decoder (it computes only the rest, the decoder pulls the whole prompt's KV instead of
 * recomputing the prefix), or the prompt's tokens not cached on the decoder exceed {@code maxLocalPrefillTokens} and
 * some prefill worker has room ({@code 0}: every prompt goes to a prefill worker while one is alive). A prefill that
 * fails is tried once more on another prefill worker, then given up: the decoder prefills locally.
 */
final class RemotePrefill {

    private static final System.Logger LOG = System.getLogger(RemotePrefill.class.getName());

    /**
     * A prefill done elsewhere.
     *
     * @param workerId the prefill worker
     * @param first its token (the stream's first), with its usage and log-probabilities
     * @param finish non-null when that token ended the request (a stop token): nothing is left to decode
     * @param kvTransferParams what the decoder pulls the KV with; null when the prefill worker kept none
     */
    record Result(String workerId, TokenDelta first, FinishReason finish, String kvTransferParams) {}

    private RemotePrefill() {}

    /**
     * Prefills {@code sequence} elsewhere when that is worth it, or returns null (prefill on the decoder).
     *
     * @param decoder the decode worker the router chose, with its cached prefix in blocks
     * @param candidates every live worker of the model (prefill workers and aggregated or decode workers)
     */
    static Result maybe(
            String requestId,
            int[] sequence,
            long[] hashes,
            GenerateRequest request,
            Router.Decision decoder,
            List<WorkerPool.Worker> candidates,
            Set<String> failed,
            Router router,
            WorkerPool pool,
            Disaggregation policy,
            Duration timeout)
            throws InterruptedException {
        int bs = pool.blockSize();
        int cachedOnDecoder = Math.min(sequence.length, decoder.overlapBlocks() * bs);
        List<String> prefillers = new ArrayList<>();
        List<String> transferable = new ArrayList<>();
        for (WorkerPool.Worker w : candidates) {
            ModelCard card = w.card();
            if (!card.getKvTransfer() || failed.contains(w.id()) || w.id().equals(decoder.workerId())) {
                continue;
            }
            transferable.add(w.id());
            if (card.getRole().equals("prefill")) {
                prefillers.add(w.id());
            }
        }
        if (transferable.isEmpty()) {
            return null;
        }
        // A peer whose cache holds much more of the prompt than the decoder's, when prefilling there and moving the
        // whole prompt's KV is predicted to give the first token sooner than prefilling on the decoder: in tokens
        // of prefill work, queued prefill + uncached tokens (+ the transfer, bytes / bandwidth, in the same unit).
        String peer = null;
        double best = router.load().of(decoder.workerId()).prefillTokens() + (double) sequence.length - cachedOnDecoder;
        Map<String, Integer> overlaps = router.prefixIndex().overlaps(hashes, transferable);
        for (var e : overlaps.entrySet()) {
            int cached = Math.min(sequence.length, e.getValue() * bs);
            double cost = router.load().of(e.getKey()).prefillTokens()
                    + (double) sequence.length
                    - cached
                    + policy.transferCostPerToken() * sequence.length;
            if (cached - cachedOnDecoder >= policy.peerKvMinTokens() && cost < best) {
                peer = e.getKey();
                best = cost;
            }
        }
        List<String> choices;
        if (peer != null) {
            choices = List.of(peer);
        } else {
            int uncached = sequence.length - cachedOnDecoder;
            if (prefillers.isEmpty()
                    || policy.maxLocalPrefillTokens() > 0 && uncached <= policy.maxLocalPrefillTokens()) {
                return null;
            }
            choices = new ArrayList<>();
            for (String id : prefillers) {
                if (policy.maxLocalPrefillTokens() == 0
                        || router.load().of(id).prefillTokens() < policy.maxPrefillQueueTokens()) {
                    choices.add(id);
                }
            }
        }
        for (int attempt = 0; attempt < 2 && !choices.isEmpty(); attempt++) {
            String routingId = requestId + "/prefill" + (attempt == 0 ? "" : "-" + attempt);
            Router.Decision d = router.route(new RoutingRequest(routingId, sequence.length, hashes, bs), choices);
            try {
                Result r = run(routingId, d.workerId(), request, pool, router, timeout);
                if (r != null) {
                    return r;
                }
            } finally {
                router.finish(routingId);
            }
            failed.add(d.workerId());
            choices = choices.stream().filter(id -> !id.equals(d.workerId())).toList();
        }
        return null;
    }

    /** Runs the one-token prefill on {@code workerId}; null when it failed (the worker is marked down if gone). */
    private static Result run(
            String routingId,
            String workerId,
            GenerateRequest request,
            WorkerPool pool,
            Router router,
            Duration timeout)
            throws InterruptedException {
        var worker = pool.worker(workerId);
        if (worker.isEmpty()) {
            return null;
        }
        StopConditions s = request.stop();
        GenerateRequest prefill = new GenerateRequest(
                        routingId,
                        request.promptTokens(),
                        request.sampling(),
                        new StopConditions(1, s.stopTokenIds(), s.ignoreEos(), Math.min(1, s.minTokens())),
                        request.cacheSalt(),
                        null)
                .withKvTransferParams("{\"do_remote_decode\":true}");
        LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        Generation g;
        try {
            g = worker.get().client().generate(prefill, new TokenListener() {
                @Override
                public void onDelta(TokenDelta delta) {
                    queue.add(delta);
                }

                @Override
                public void onError(EngineException error) {
                    queue.add(error);
                }
            });
        } catch (EngineException e) {
            failedOn(workerId, e, pool);
            return null;
        }
        List<Integer> tokens = new ArrayList<>();
        List<dev.tandem.api.engine.TokenLogprob> logprobs = new ArrayList<>();
        dev.tandem.api.engine.Usage usage = null;
        while (true) {
            Object item = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (item == null) {
                g.cancel();
                LOG.log(System.Logger.Level.WARNING, "prefill on {0} timed out; prefilling locally", workerId);
                return null;
            }
            if (item instanceof EngineException e) {
                failedOn(workerId, e, pool);
                return null;
            }
            TokenDelta d = (TokenDelta) item;
            for (int t : d.tokenIds()) {
                tokens.add(t);
            }
            if (d.logprobs() != null) {
                logprobs.addAll(d.logprobs());
            }
            if (d.usage() != null) {
                usage = d.usage();
            }
            if (!d.isFinal()) {
                continue;
            }
            router.firstToken(routingId);
            if (tokens.size() != 1
                    || d.finishReason() == FinishReason.CANCELLED
                    || d.finishReason() == FinishReason.ERROR) {
                return null;
            }
            TokenDelta first = new TokenDelta(
                    new int[] {tokens.getFirst()}, null, usage, logprobs.isEmpty() ? null : List.copyOf(logprobs));
            FinishReason finish = d.finishReason() == FinishReason.STOP ? FinishReason.STOP : null;
            return new Result(workerId, first, finish, d.kvTransferParams());
        }
    }

    private static void failedOn(String workerId, EngineException e, WorkerPool pool) {
        if (e.kind() == EngineException.Kind.UNAVAILABLE) {
            pool.markDown(workerId);
        }
        LOG.log(
                System.Logger.Level.WARNING,
                "prefill on {0} failed ({1}); prefilling elsewhere or locally",
                workerId,
                e.getMessage());
    }
}
