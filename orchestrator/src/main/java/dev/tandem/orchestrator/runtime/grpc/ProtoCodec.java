package dev.tandem.orchestrator.runtime.grpc;

import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.FinishReason;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.Usage;
import dev.tandem.api.kv.KvStateDump;
import dev.tandem.api.proto.KvState;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.HashSet;

/** Engine records ↔ request-plane protobuf messages, and engine errors ↔ gRPC statuses. */
final class ProtoCodec {

    private ProtoCodec() {}

    static dev.tandem.api.proto.GenerateRequest toProto(GenerateRequest r) {
        SamplingParams s = r.sampling();
        var sp = dev.tandem.api.proto.SamplingParams.newBuilder()
                .setTemperature((float) s.temperature())
                .setTopP((float) s.topP())
                .setTopK(s.topK())
                .setMinP((float) s.minP())
                .setRepetitionPenalty((float) s.repetitionPenalty())
                .setPresencePenalty((float) s.presencePenalty())
                .setFrequencyPenalty((float) s.frequencyPenalty());
        if (s.wantsLogprobs()) {
            sp.setLogprobs(s.logprobs());
        }
        if (s.seed() != null) {
            sp.setSeed(s.seed());
        }
        var stop = dev.tandem.api.proto.StopConditions.newBuilder()
                .setMaxTokens(r.stop().maxTokens())
                .addAllStopTokenIds(r.stop().stopTokenIds())
                .setIgnoreEos(r.stop().ignoreEos())
                .setMinTokens(r.stop().minTokens());
        var b = dev.tandem.api.proto.GenerateRequest.newBuilder()
                .setRequestId(r.requestId())
                .setSampling(sp)
                .setStop(stop);
        for (int t : r.promptTokens()) {
            b.addTokenIds(t);
        }
        if (r.cacheSalt() != null) {
            b.setCacheSalt(r.cacheSalt());
        }
        if (r.textPrompt() != null && r.textPrompt().isChat()) {
            r.textPrompt()
                    .messages()
                    .forEach(m -> b.addChat(dev.tandem.api.proto.ChatTurn.newBuilder()
                            .setRole(m.role())
                            .setContent(m.content())));
        } else if (r.textPrompt() != null) {
            b.setPromptText(r.textPrompt().text());
        }
        if (r.kvTransferParams() != null) {
            b.setKvTransferParams(r.kvTransferParams());
        }
        return b.build();
    }

    static GenerateRequest fromProto(dev.tandem.api.proto.GenerateRequest p) {
        var s = p.getSampling();
        SamplingParams sampling = new SamplingParams(
                s.getTemperature(),
                s.getTopP() == 0 ? 1 : s.getTopP(),
                s.getTopK(),
                s.getMinP(),
                s.hasSeed() ? s.getSeed() : null,
                s.getRepetitionPenalty() == 0 ? 1 : s.getRepetitionPenalty(),
                s.getPresencePenalty(),
                s.getFrequencyPenalty(),
                s.hasLogprobs() ? s.getLogprobs() : -1);
        var st = p.getStop();
        StopConditions stop = new StopConditions(
                st.getMaxTokens(), new HashSet<>(st.getStopTokenIdsList()), st.getIgnoreEos(), st.getMinTokens());
        int[] prompt = new int[p.getTokenIdsCount()];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = p.getTokenIds(i);
        }
        dev.tandem.api.engine.TextPrompt text = null;
        if (p.hasPromptText()) {
            text = dev.tandem.api.engine.TextPrompt.completion(p.getPromptText());
        } else if (p.getChatCount() > 0) {
            text = dev.tandem.api.engine.TextPrompt.chat(p.getChatList().stream()
                    .map(t -> new dev.tandem.api.tokenizer.ChatMessage(t.getRole(), t.getContent()))
                    .toList());
        }
        return new GenerateRequest(
                p.getRequestId(),
                prompt,
                sampling,
                stop,
                p.getCacheSalt().isEmpty() ? null : p.getCacheSalt(),
                text,
                p.hasKvTransferParams() ? p.getKvTransferParams() : null);
    }

    static dev.tandem.api.proto.TokenDelta toProto(TokenDelta d) {
        var b = dev.tandem.api.proto.TokenDelta.newBuilder();
        for (int t : d.tokenIds()) {
            b.addTokenIds(t);
        }
        if (d.isFinal()) {
            b.setFinishReason(
                    switch (d.finishReason()) {
                        case STOP -> dev.tandem.api.proto.FinishReason.FINISH_REASON_STOP;
                        case LENGTH -> dev.tandem.api.proto.FinishReason.FINISH_REASON_LENGTH;
                        case CANCELLED -> dev.tandem.api.proto.FinishReason.FINISH_REASON_CANCELLED;
                        case ERROR -> dev.tandem.api.proto.FinishReason.FINISH_REASON_ERROR;
                    });
        }
        if (d.logprobs() != null) {
            for (var lp : d.logprobs()) {
                var lb = dev.tandem.api.proto.TokenLogprob.newBuilder()
                        .setTokenId(lp.tokenId())
                        .setLogprob(lp.logprob());
                for (int i = 0; i < lp.topIds().length; i++) {
                    lb.addTopIds(lp.topIds()[i]).addTopLogprobs(lp.topLogprobs()[i]);
                }
                b.addLogprobs(lb);
            }
        }
        if (d.text() != null) {
            b.setText(d.text());
        }
        Usage u = d.usage();
        if (u != null) {
            b.setUsage(dev.tandem.api.proto.Usage.newBuilder()
                    .setPromptTokens(u.promptTokens())
                    .setCachedPromptTokens(u.cachedPromptTokens())
                    .setCompletionTokens(u.completionTokens())
                    .setKvTransferredTokens(u.kvTransferredTokens()));
        }
        if (d.kvTransferParams() != null) {
            b.setKvTransferParams(d.kvTransferParams());
        }
        return b.build();
    }

    static TokenDelta fromProto(dev.tandem.api.proto.TokenDelta p) {
        int[] ids = new int[p.getTokenIdsCount()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = p.getTokenIds(i);
        }
        FinishReason reason = switch (p.getFinishReason()) {
            case FINISH_REASON_STOP -> FinishReason.STOP;
            case FINISH_REASON_LENGTH -> FinishReason.LENGTH;
            case FINISH_REASON_CANCELLED -> FinishReason.CANCELLED;
            case FINISH_REASON_ERROR -> FinishReason.ERROR;
            case FINISH_REASON_UNSPECIFIED, UNRECOGNIZED -> null;
        };
        var u = p.getUsage();
        Usage usage = p.hasUsage()
                ? new Usage(
                        u.getPromptTokens(),
                        u.getCachedPromptTokens(),
                        u.getCompletionTokens(),
                        u.getKvTransferredTokens())
                : null;
        java.util.List<dev.tandem.api.engine.TokenLogprob> logprobs = null;
        if (p.getLogprobsCount() > 0) {
            logprobs = new java.util.ArrayList<>();
            for (var lp : p.getLogprobsList()) {
                int[] top = new int[lp.getTopIdsCount()];
                float[] topLp = new float[top.length];
                for (int i = 0; i < top.length; i++) {
                    top[i] = lp.getTopIds(i);
                    topLp[i] = lp.getTopLogprobs(i);
                }
                logprobs.add(new dev.tandem.api.engine.TokenLogprob(lp.getTokenId(), lp.getLogprob(), top, topLp));
            }
        }
        String text = p.hasText() ? p.getText() : null;
        if (reason == null) {
            return new TokenDelta(ids, null, usage, logprobs, text);
        }
        return new TokenDelta(
                ids,
                reason,
                usage == null ? new Usage(0, 0, 0) : usage,
                logprobs,
                text,
                p.hasKvTransferParams() ? p.getKvTransferParams() : null);
    }

    static KvState toProto(KvStateDump d) {
        var b = KvState.newBuilder().setWorkerId(d.workerId()).setLastEventId(d.lastEventId());
        for (long h : d.blockHashes()) {
            b.addBlockHashes(h);
        }
        return b.build();
    }

    static KvStateDump fromProto(KvState s) {
        long[] hashes = new long[s.getBlockHashesCount()];
        for (int i = 0; i < hashes.length; i++) {
            hashes[i] = s.getBlockHashes(i);
        }
        return new KvStateDump(s.getWorkerId(), s.getLastEventId(), hashes);
    }

    /**
     * The engine's own error kind travels in a trailer, so the client can tell an engine's answer from the
     * transport's: gRPC itself reports RESOURCE_EXHAUSTED for an oversized message or a peer's GOAWAY
     * (ENHANCE_YOUR_CALM), which is a broken stream to migrate, not an overloaded engine to report.
     */
    static final Metadata.Key<String> ERROR_KIND =
            Metadata.Key.of("tandem-error-kind", Metadata.ASCII_STRING_MARSHALLER);

    static StatusRuntimeException toStatus(EngineException e) {
        Status s = switch (e.kind()) {
            case INVALID_REQUEST -> Status.INVALID_ARGUMENT;
            case OVERLOADED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case INTERNAL -> Status.INTERNAL;
        };
        Metadata trailers = new Metadata();
        trailers.put(ERROR_KIND, e.kind().name());
        return s.withDescription(e.getMessage()).asRuntimeException(trailers);
    }

    static EngineException fromStatus(Throwable t, String worker) {
        Status s = Status.fromThrowable(t);
        String msg = "worker " + worker + ": " + (s.getDescription() == null ? s.getCode() : s.getDescription());
        Metadata trailers = Status.trailersFromThrowable(t);
        String engineKind = trailers == null ? null : trailers.get(ERROR_KIND);
        if (engineKind != null) {
            try {
                return new EngineException(EngineException.Kind.valueOf(engineKind), msg, t);
            } catch (IllegalArgumentException unknown) {
                // a newer worker's kind: fall back to the status code
            }
        }
        EngineException.Kind kind = switch (s.getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> EngineException.Kind.INVALID_REQUEST;
            // A call past its deadline must not migrate: another worker would take as long again.
            case INTERNAL, UNKNOWN, DATA_LOSS, UNIMPLEMENTED, DEADLINE_EXCEEDED -> EngineException.Kind.INTERNAL;
            // Everything else, RESOURCE_EXHAUSTED from the transport included, is a broken stream: migrate.
            default -> EngineException.Kind.UNAVAILABLE;
        };
        return new EngineException(kind, msg, t);
    }
}
