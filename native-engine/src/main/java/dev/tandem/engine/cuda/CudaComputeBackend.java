package dev.tandem.engine.cuda;

import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.api.kv.connector.ConnectorMetadata;
import dev.tandem.api.kv.connector.KvBlockStore;
import dev.tandem.api.kv.connector.KvConnector;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.cpu.Logprobs;
import dev.tandem.engine.cpu.Sampler;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;
import dev.tandem.engine.model.Matrix;
import dev.tandem.engine.scheduler.ScheduledChunk;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.scheduler.StepPlan;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code cuda} backend: the CPU engine's forward pass (same scheduler, same paged KV blocks, same sampler) with
 * every layer computed on the GPU by the kernels of {@code kernels.cu}. Only token ids, positions and block tables go
 * to the device each step, and only token ids and logprobs come back: greedy and tempered rows are chosen on the
 * device with the CPU sampler's arithmetic; only rows with penalties, top-k/p or min-p send their logits to the
 * host's {@link Sampler}, which treats them exactly as the CPU engine does.
 *
 * <p>A step's positions run in micro-batches of up to {@link #microBatch} tokens, each through all layers at once.
 * A step of only single-token decodes that all sample is padded to a bucket (1, 2, 4, ... 64 tokens) and replayed
 * from a {@link Gpu.Graph} captured on the first step of that size: a decode step is then one graph launch instead
 * of ten launches per layer. Padding tokens write their KV into a scratch block.
 *
 * <p>f32 products use one FMA chain over k from 0, as the CPU engine, so an f32 product equals the CPU's bit for
 * bit; bf16 decode products (up to 8 tokens) split k across a warp for bandwidth.
 *
 * <p>Owned by the engine thread.
 */
public final class CudaComputeBackend implements ComputeBackend {

    /** Sampling rows whose logits are computed together (bounds the logits buffer: vocab floats each). */
    static final int SAMPLE_ROWS = 64;

    private static final int[] BUCKETS = {1, 2, 4, 8, 16, 32, 64};
    private static final int GEMV_MAX_TOKENS = 8;

    /** Alternatives per token that the device computes (OpenAI's top_logprobs goes to 20); more go to the host. */
    static final int MAX_DEVICE_LOGPROBS = 20;

    /** Product epilogues (kernels.cu): store, add to the residual stream, apply the SwiGLU gate. */
    private static final int EPI_STORE = 0;

    private static final int EPI_RESIDUAL = 1;
    private static final int EPI_GATE = 2;

    private final LlamaConfig c;
    private final Gpu gpu;
    private final CudaKvStore kv;
    private final Sampler sampler = new Sampler();
    private final int microBatch;
    private final int maxBlocks;
    private final float scale;
    private final int attentionSharedLimit;
    private KvConnector connector;
    private ConnectorMetadata stepMetadata = ConnectorMetadata.EMPTY;

    private final DeviceMatrix embedding;
    private final DeviceMatrix classifier;
    /** Per layer, Q, K and V stacked: one product (one launch, one pass over the input) for all three. */
    private final DeviceMatrix[] wqkv;

    private final DeviceMatrix[] wo;
    private final DeviceMatrix[] w1;
    private final DeviceMatrix[] w2;
    private final DeviceMatrix[] w3;
    private final long[] attnNorm;
    private final long[] ffnNorm;
    private final long finalNorm;
    private final long[] biasQ;
    private final long[] biasK;
    private final long[] biasV;
    private final long[] normQ;
    private final long[] normK;
    private final long ropeCos;
    private final long ropeSin;

    // Activations, [token][feature].
    private final long x;
    private final long xb;
    private final long q;
    private final long k;
    private final long v;
    private final long hb;
    private final long finals;
    private final long normed;
    private final long logits;
    // Step inputs and outputs.
    private final long dTokens;
    private final long dPositions;
    private final long dTables;
    private final long dSampleRows;
    private final long dIds;
    // Device sampling, allocated on the first tempered request: p_i per row, 1/temperature, uniforms, sampled ids.
    private long sampleScratch;
    private long dTemperatures;
    private long dUniforms;
    private long dSampled;
    private long dChosen;
    private long dTopK;
    private long dChosenLogprob;
    private long dTopIds;
    private long dTopLogprobs;

    private final int[] tokens;
    private final int[] positions;
    private final int[] tables;
    private final int[] sampleRows;
    private final int maxSamplers;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment hostInts;
    private final Map<Integer, Gpu.Graph> graphs = new java.util.HashMap<>();
    private final boolean useGraphs;
    /** bf16 products of more than 8 tokens on tensor cores (gemm_bf16_tc); off until measured on a GPU. */
    private final boolean tensorCores;

    private final long weightBytes;

    /**
     * @param maxTokensPerStep the scheduler's token budget per step (micro-batches are at most this)
     * @param maxSequences the scheduler's sequences per step (sampling rows per step)
     * @param graphs whether decode steps are captured and replayed as graphs
     * @param tensorCores whether bf16 products of more than 8 tokens run on tensor cores (TF32, activations in two
     *     terms: near f32, not bit-equal to the CPU engine)
     */
    public CudaComputeBackend(
            LlamaConfig config,
            LlamaWeights w,
            Gpu gpu,
            int kvBlocks,
            int blockSize,
            int maxTokensPerStep,
            int maxSequences,
            boolean graphs,
            boolean tensorCores) {
        this.c = config;
        this.gpu = gpu;
        this.useGraphs = graphs;
        this.tensorCores = tensorCores;
        this.microBatch = Math.max(BUCKETS[BUCKETS.length - 1], Math.min(maxTokensPerStep, 2048));
        int context = Math.min(config.contextLength(), maxContext(config.headDim()));
        this.maxBlocks = (context + blockSize - 1) / blockSize;
        this.maxSamplers = Math.max(1, maxSequences);
        this.scale = (float) (1.0 / Math.sqrt(config.headDim()));
        this.attentionSharedLimit = attentionShared(context);
        Map<Matrix, DeviceMatrix> uploaded = new IdentityHashMap<>();
        embedding = upload(uploaded, w.embedding());
        classifier = upload(uploaded, w.classifier());
        int layers = config.layers();
        wqkv = new DeviceMatrix[layers];
        wo = new DeviceMatrix[layers];
        w1 = new DeviceMatrix[layers];
        w2 = new DeviceMatrix[layers];
        w3 = new DeviceMatrix[layers];
        attnNorm = new long[layers];
        ffnNorm = new long[layers];
        biasQ = new long[layers];
        biasK = new long[layers];
        biasV = new long[layers];
        normQ = new long[layers];
        normK = new long[layers];
        long stackedBytes = 0;
        for (int l = 0; l < layers; l++) {
            wqkv[l] = DeviceMatrix.upload(gpu, w.wq()[l], w.wk()[l], w.wv()[l]);
            stackedBytes += wqkv[l].bytes();
            wo[l] = upload(uploaded, w.wo()[l]);
            w1[l] = upload(uploaded, w.w1()[l]);
            w2[l] = upload(uploaded, w.w2()[l]);
            w3[l] = upload(uploaded, w.w3()[l]);
            attnNorm[l] = floats(w.attnNorm()[l]);
            ffnNorm[l] = floats(w.ffnNorm()[l]);
            if (w.attnBias() != null) {
                biasQ[l] = floats(w.attnBias()[l].q());
                biasK[l] = floats(w.attnBias()[l].k());
                biasV[l] = floats(w.attnBias()[l].v());
            }
            if (w.qkNorm() != null) {
                normQ[l] = floats(w.qkNorm()[l].q());
                normK[l] = floats(w.qkNorm()[l].k());
            }
        }
        finalNorm = floats(w.finalNorm());
        long total = stackedBytes;
        for (DeviceMatrix m : uploaded.values()) {
            total += m.bytes();
        }
        weightBytes = total;
        // RoPE angles as the CPU engine computes them (float angle, cos and sin rounded from double), per position.
        float[] invFreq = config.ropeInverseFrequencies();
        int half = config.headDim() / 2;
        float[] cos = new float[context * half];
        float[] sin = new float[context * half];
        for (int p = 0; p < context; p++) {
            for (int i = 0; i < half; i++) {
                float val = p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(val);
                sin[p * half + i] = (float) Math.sin(val);
            }
        }
        ropeCos = floats(cos);
        ropeSin = floats(sin);

        int mb = microBatch;
        int wide = Math.max(config.dim(), config.qDim());
        x = gpu.alloc(4L * mb * config.dim());
        xb = gpu.alloc(4L * mb * wide);
        q = gpu.alloc(4L * mb * config.qDim());
        k = gpu.alloc(4L * mb * config.kvDim());
        v = gpu.alloc(4L * mb * config.kvDim());
        hb = gpu.alloc(4L * mb * config.hiddenDim());
        finals = gpu.alloc(4L * maxSamplers * config.dim());
        normed = gpu.alloc(4L * SAMPLE_ROWS * config.dim());
        logits = gpu.alloc(4L * SAMPLE_ROWS * config.vocabSize());
        dTokens = gpu.alloc(4L * mb);
        dPositions = gpu.alloc(4L * mb);
        dTables = gpu.alloc(4L * mb * maxBlocks);
        dSampleRows = gpu.alloc(4L * mb);
        dIds = gpu.alloc(4L * SAMPLE_ROWS);
        tokens = new int[mb];
        positions = new int[mb];
        tables = new int[mb * maxBlocks];
        sampleRows = new int[mb];
        hostInts = arena.allocate(4L * mb * maxBlocks, 256);
        this.kv = new CudaKvStore(gpu, layers, kvBlocks, blockSize, config.kvHeads(), config.headDim());
        gpu.synchronize();
    }

    /** Bytes of dynamic shared memory the attention kernel takes for contexts up to {@code context}. */
    private int attentionShared(int context) {
        return 4 * (context + c.headDim());
    }

    /**
     * The longest context whose attention scores fit the shared memory one block may have (227 KiB on Hopper and
     * Ampere's A100; the kernel keeps a score per key).
     */
    public static int maxContext(int headDim) {
        return 227 * 1024 / 4 - headDim;
    }

    /** Device bytes of everything but the weights and the KV cache, for sizing the cache. */
    static long scratchBytes(LlamaConfig c, int maxTokensPerStep, int maxSequences, int blockSize) {
        long mb = Math.max(BUCKETS[BUCKETS.length - 1], Math.min(maxTokensPerStep, 2048));
        long perToken = c.dim() + Math.max(c.dim(), c.qDim()) + c.qDim() + 2L * c.kvDim() + c.hiddenDim() + 4;
        long blocks = (c.contextLength() + blockSize - 1) / blockSize;
        return 4
                * (mb * perToken
                        + mb * blocks
                        + (long) maxSequences * c.dim()
                        + SAMPLE_ROWS * ((long) c.vocabSize() + c.dim())
                        + (long) c.contextLength() * c.headDim());
    }

    private DeviceMatrix upload(Map<Matrix, DeviceMatrix> uploaded, Matrix m) {
        DeviceMatrix d = uploaded.get(m);
        if (d == null) {
            d = DeviceMatrix.upload(gpu, m);
            uploaded.put(m, d);
        }
        return d;
    }

    private long floats(float[] values) {
        long address = gpu.alloc(4L * values.length);
        gpu.upload(address, MemorySegment.ofArray(values));
        return address;
    }

    /** Bytes of weights on the device (a batch-1 decode step reads all of them but the embedding). */
    public long weightBytes() {
        return weightBytes;
    }

    public Gpu gpu() {
        return gpu;
    }

    @Override
    public KvBlockStore kvStore() {
        return kv;
    }

    @Override
    public void connect(KvConnector connector) {
        this.connector = connector;
    }

    @Override
    public StepOutput execute(StepPlan plan) {
        stepMetadata = plan.connectorMetadata();
        if (connector != null) {
            connector.startLoad(stepMetadata);
        }
        try {
            return compute(plan);
        } finally {
            if (connector != null) {
                connector.waitForSave();
            }
        }
    }

    private StepOutput compute(StepPlan plan) {
        List<Sequence> samplers = new ArrayList<>();
        boolean decodeOnly = useGraphs;
        int total = 0;
        for (ScheduledChunk ch : plan.chunks()) {
            decodeOnly &= ch.tokens() == 1 && ch.samples();
            total += ch.tokens();
        }
        if (decodeOnly && total <= BUCKETS[BUCKETS.length - 1] && total > 0) {
            return decodeStep(plan);
        }
        int n = 0;
        int firstSlot = 0;
        for (ScheduledChunk ch : plan.chunks()) {
            Sequence seq = ch.sequence();
            int end = ch.start() + ch.tokens();
            for (int pos = ch.start(); pos < end; pos++) {
                put(n, seq.token(pos), pos, seq.blocks().raw(), seq.blocks().size());
                if (pos == end - 1 && ch.samples()) {
                    sampleRows[samplers.size() - firstSlot] = n;
                    samplers.add(seq);
                }
                n++;
                if (n == microBatch) {
                    forward(n, firstSlot, samplers.size() - firstSlot);
                    firstSlot = samplers.size();
                    n = 0;
                }
            }
        }
        if (n > 0) {
            forward(n, firstSlot, samplers.size() - firstSlot);
        }
        return sample(samplers, finals);
    }

    /** Position {@code i} of the micro-batch: its token, position and its sequence's block table. */
    private void put(int i, int token, int pos, int[] table, int used) {
        tokens[i] = token;
        positions[i] = pos;
        int n = Math.min(used, maxBlocks);
        System.arraycopy(table, 0, tables, i * maxBlocks, n);
        Arrays.fill(tables, i * maxBlocks + n, (i + 1) * maxBlocks, kv.scratchBlock());
    }

    private void uploadInts(long dst, int[] values, int count) {
        MemorySegment s = hostInts.asSlice(0, 4L * count);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_INT, 0, count);
        gpu.upload(dst, s);
    }

    private void uploadInputs(int n) {
        uploadInts(dTokens, tokens, n);
        uploadInts(dPositions, positions, n);
        uploadInts(dTables, tables, n * maxBlocks);
    }

    /** Positions [0, n) of the micro-batch through every layer; their sampling rows' states into {@code finals}. */
    private void forward(int n, int firstSlot, int sampling) {
        uploadInputs(n);
        int maxPos = 0;
        for (int i = 0; i < n; i++) {
            maxPos = Math.max(maxPos, positions[i]);
        }
        layers(n, attentionShared(maxPos + 1), true);
        if (sampling > 0) {
            uploadInts(dSampleRows, sampleRows, sampling);
            gpu.launch("gather_rows", sampling, 1, 256, 0, finals + 4L * firstSlot * c.dim(), x, dSampleRows, c.dim());
        }
    }

    /** A step of single-token decodes that all sample, replayed from the graph of its bucket. */
    private StepOutput decodeStep(StepPlan plan) {
        List<Sequence> samplers = new ArrayList<>();
        int n = 0;
        for (ScheduledChunk ch : plan.chunks()) {
            Sequence seq = ch.sequence();
            put(
                    n++,
                    seq.token(ch.start()),
                    ch.start(),
                    seq.blocks().raw(),
                    seq.blocks().size());
            samplers.add(seq);
        }
        int bucket = Arrays.stream(BUCKETS)
                .filter(b -> b >= samplers.size())
                .findFirst()
                .orElseThrow();
        for (int i = n; i < bucket; i++) {
            tokens[i] = 0;
            positions[i] = 0;
            Arrays.fill(tables, i * maxBlocks, (i + 1) * maxBlocks, kv.scratchBlock());
        }
        uploadInputs(bucket);
        Gpu.Graph graph = graphs.get(bucket);
        if (graph == null) {
            graph = gpu.capture(() -> {
                layers(bucket, attentionSharedLimit, false);
                gpu.launch("rmsnorm_rows", bucket, 1, 256, 0, normed, x, finalNorm, c.dim(), c.normEps());
                matMul(classifier, normed, logits, bucket);
                gpu.launch("argmax_rows", bucket, 1, 256, 0, dIds, logits, c.vocabSize());
            });
            graphs.put(bucket, graph);
        }
        // A graph cannot stop between layers for the connector: every layer's KV is loaded before it runs and saved
        // after it (the same guarantees, with less overlap than the per-layer hooks of a plain step).
        if (connector != null) {
            for (int l = 0; l < c.layers(); l++) {
                connector.waitForLayerLoad(l);
            }
        }
        graph.launch();
        if (connector != null) {
            gpu.synchronize();
            for (int l = 0; l < c.layers(); l++) {
                connector.saveLayer(l, stepMetadata);
            }
        }
        return select(samplers, 0, samplers.size(), new int[samplers.size()], null);
    }

    /** The whole transformer over [0, n) of the micro-batch; leaves the hidden states in {@code x}. */
    private void layers(int n, int attentionSharedBytes, boolean hooks) {
        int dim = c.dim();
        int hd = c.headDim();
        gpu.launch(embedding.bf16() ? "embed_bf16" : "embed_f32", n, 1, 256, 0, x, embedding.address(), dTokens, dim);
        for (int l = 0; l < c.layers(); l++) {
            gpu.launch("rmsnorm_rows", n, 1, 256, 0, xb, x, attnNorm[l], dim, c.normEps());
            matMul(wqkv[l], xb, q, k, v, c.qDim(), c.qDim() + c.kvDim(), n, EPI_STORE);
            if (biasQ[l] != 0) {
                elementwise("add_bias_rows", n * c.qDim(), q, biasQ[l], c.qDim(), n * c.qDim());
                elementwise("add_bias_rows", n * c.kvDim(), k, biasK[l], c.kvDim(), n * c.kvDim());
                elementwise("add_bias_rows", n * c.kvDim(), v, biasV[l], c.kvDim(), n * c.kvDim());
            }
            if (normQ[l] != 0) {
                gpu.launch("rmsnorm_rows", n * c.heads(), 1, 128, 0, q, q, normQ[l], hd, c.normEps());
                gpu.launch("rmsnorm_rows", n * c.kvHeads(), 1, 128, 0, k, k, normK[l], hd, c.normEps());
            }
            gpu.launch(
                    "rope",
                    n,
                    c.heads() + c.kvHeads(),
                    Math.max(32, Math.min(1024, hd / 2)),
                    0,
                    q,
                    k,
                    ropeCos,
                    ropeSin,
                    dPositions,
                    c.heads(),
                    c.kvHeads(),
                    hd,
                    c.rotateHalf() ? 1 : 0);
            gpu.launch(
                    "kv_store",
                    n,
                    1,
                    256,
                    0,
                    kv.base,
                    k,
                    v,
                    dTables,
                    dPositions,
                    maxBlocks,
                    l,
                    c.layers(),
                    kv.layout().blockSize(),
                    c.kvHeads(),
                    hd);
            if (hooks && connector != null) {
                gpu.synchronize();
                connector.waitForLayerLoad(l);
            }
            gpu.launch(
                    "attention",
                    n,
                    c.heads(),
                    128,
                    attentionSharedBytes,
                    xb,
                    q,
                    kv.base,
                    dTables,
                    dPositions,
                    maxBlocks,
                    l,
                    c.layers(),
                    kv.layout().blockSize(),
                    c.heads(),
                    c.kvHeads(),
                    hd,
                    scale);
            if (hooks && connector != null) {
                gpu.synchronize();
                connector.saveLayer(l, stepMetadata);
            }
            // The residual adds and the SwiGLU gate happen in the products' epilogues (see kernels.cu).
            matMul(wo[l], xb, x, n, EPI_RESIDUAL);
            gpu.launch("rmsnorm_rows", n, 1, 256, 0, xb, x, ffnNorm[l], dim, c.normEps());
            matMul(w1[l], xb, hb, n);
            matMul(w3[l], xb, hb, n, EPI_GATE);
            matMul(w2[l], hb, x, n, EPI_RESIDUAL);
        }
    }

    /** An element-wise kernel over {@code count} elements (grid-stride loops: at most 4,096 blocks). */
    private void elementwise(String kernel, int count, Object... args) {
        int blocks = Math.max(1, Math.min(4096, (count + 255) / 256));
        gpu.launch(kernel, blocks, 1, 256, 0, args);
    }

    /** {@code out[t] = m · in[t]} for t in [0, n). */
    private void matMul(DeviceMatrix m, long in, long out, int n) {
        matMul(m, in, out, n, EPI_STORE);
    }

    /** {@code m · in[t]} for t in [0, n), landing in {@code out} as {@code epilogue} says (kernels.cu). */
    private void matMul(DeviceMatrix m, long in, long out, int n, int epilogue) {
        matMul(m, in, out, out, out, m.rows(), m.rows(), n, epilogue);
    }

    /**
     * {@code m · in[t]} for t in [0, n), where m's rows are stacked matrices: rows [0, s1) land in {@code out0},
     * [s1, s2) in {@code out1}, the rest in {@code out2}, each in its own [token][rows] layout (kernels.cu,
     * segment_at).
     */
    private void matMul(DeviceMatrix m, long in, long out0, long out1, long out2, int s1, int s2, int n, int epi) {
        // Same arguments for every product kernel; they differ in the grid: a warp per row for decode, tiles of
        // 64 rows x 64 tokens (128 threads on tensor cores, 256 on CUDA cores) otherwise.
        boolean gemv = m.bf16() && n <= GEMV_MAX_TOKENS && m.cols() % 8 == 0;
        boolean tc = !gemv && m.bf16() && tensorCores;
        String kernel = gemv ? "gemv_bf16" : tc ? "gemm_bf16_tc" : m.bf16() ? "gemm_bf16" : "gemm_f32";
        int gridX = gemv ? (m.rows() + 7) / 8 : (m.rows() + 63) / 64;
        int gridY = gemv ? 1 : (n + 63) / 64;
        gpu.launch(
                kernel,
                gridX,
                gridY,
                tc ? 128 : 256,
                0,
                out0,
                out1,
                out2,
                s1,
                s2,
                m.address(),
                in,
                m.rows(),
                m.cols(),
                n,
                epi);
    }

    /** Samples a token for each of {@code samplers}, whose final hidden states are rows of {@code states}. */
    private StepOutput sample(List<Sequence> samplers, long states) {
        int[] out = new int[samplers.size()];
        TokenLogprob[] logprobs = null;
        for (int start = 0; start < out.length; start += SAMPLE_ROWS) {
            int rows = Math.min(SAMPLE_ROWS, out.length - start);
            gpu.launch(
                    "rmsnorm_rows",
                    rows,
                    1,
                    256,
                    0,
                    normed,
                    states + 4L * start * c.dim(),
                    finalNorm,
                    c.dim(),
                    c.normEps());
            matMul(classifier, normed, logits, rows);
            if (selection(samplers, start, rows) != Selection.HOST) {
                gpu.launch("argmax_rows", rows, 1, 256, 0, dIds, logits, c.vocabSize());
            }
            logprobs = select(samplers, start, rows, out, logprobs).logprobs();
        }
        return new StepOutput(out, 0, logprobs);
    }

    /** Where the tokens of a group of sampling rows are chosen. */
    private enum Selection {
        /** Every row greedy: the device's argmax. */
        ARGMAX,
        /** Greedy rows and rows sampled from the whole tempered distribution: argmax and {@code sample_rows}. */
        DEVICE,
        /**
         * Some row has penalties, top-k/p or min-p, or wants more than {@link #MAX_DEVICE_LOGPROBS} alternatives: the
         * logits go to the host's sampler.
         */
        HOST
    }

    private Selection selection(List<Sequence> samplers, int start, int rows) {
        Selection s = Selection.ARGMAX;
        for (int i = start; i < start + rows; i++) {
            var p = samplers.get(i).request().sampling();
            if (p.wantsLogprobs() && p.logprobs() > MAX_DEVICE_LOGPROBS) {
                return Selection.HOST;
            }
            if (Sampler.isPlainTemperature(p, c.vocabSize())) {
                s = Selection.DEVICE;
            } else if (!p.isGreedy()
                    || p.repetitionPenalty() != 1
                    || p.presencePenalty() != 0
                    || p.frequencyPenalty() != 0) {
                return Selection.HOST;
            }
        }
        return s;
    }

    /**
     * Fills {@code out[start, start + rows)} from the logits of those rows (the argmax already launched unless the
     * selection is {@link Selection#HOST}): only token ids come back from the device, except for rows that need the
     * host's sampler (penalties, top-k/p, min-p, logprobs: the CPU engine's code, on the downloaded logit rows).
     */
    private StepOutput select(List<Sequence> samplers, int start, int rows, int[] out, TokenLogprob[] logprobs) {
        Selection how = selection(samplers, start, rows);
        if (how != Selection.HOST) {
            MemorySegment ids = hostInts.asSlice(0, 4L * rows);
            gpu.download(ids, dIds);
            MemorySegment.copy(ids, ValueLayout.JAVA_INT, 0, out, start, rows);
            if (how == Selection.DEVICE) {
                sampleOnDevice(samplers, start, rows, out);
            }
            return new StepOutput(out, 0, logprobsOnDevice(samplers, start, rows, out, logprobs));
        }
        int vocab = c.vocabSize();
        float[] row = new float[vocab];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(4L * rows * vocab, 64);
            gpu.download(host, logits);
            for (int i = 0; i < rows; i++) {
                MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 4L * i * vocab, row, 0, vocab);
                Sequence seq = samplers.get(start + i);
                var sampling = seq.request().sampling();
                float[] raw = sampling.wantsLogprobs() ? row.clone() : null;
                out[start + i] = sampler.sample(row, vocab, seq);
                if (raw != null) {
                    if (logprobs == null) {
                        logprobs = new TokenLogprob[out.length];
                    }
                    logprobs[start + i] = Logprobs.of(raw, vocab, out[start + i], sampling.logprobs());
                }
            }
        }
        return new StepOutput(out, 0, logprobs);
    }

    /**
     * The log-probabilities of the rows that ask for them, computed on the device ({@code logprobs_rows}, the CPU
     * engine's {@link Logprobs} arithmetic): only the chosen token's value and the top alternatives come back.
     */
    private TokenLogprob[] logprobsOnDevice(
            List<Sequence> samplers, int start, int rows, int[] out, TokenLogprob[] logprobs) {
        int[] ks = new int[rows];
        boolean any = false;
        for (int i = 0; i < rows; i++) {
            var p = samplers.get(start + i).request().sampling();
            ks[i] = p.wantsLogprobs() ? p.logprobs() : 0;
            any |= p.wantsLogprobs();
        }
        if (!any) {
            return logprobs;
        }
        int vocab = c.vocabSize();
        allocateSampling();
        gpu.upload(dChosen, MemorySegment.ofArray(Arrays.copyOfRange(out, start, start + rows)));
        gpu.upload(dTopK, MemorySegment.ofArray(ks));
        gpu.launch(
                "logprobs_rows",
                rows,
                1,
                256,
                0,
                dChosenLogprob,
                dTopIds,
                dTopLogprobs,
                logits,
                sampleScratch,
                dChosen,
                dTopK,
                vocab,
                MAX_DEVICE_LOGPROBS);
        float[] chosen = new float[rows];
        int[] topIds = new int[rows * MAX_DEVICE_LOGPROBS];
        float[] topLogprobs = new float[rows * MAX_DEVICE_LOGPROBS];
        gpu.download(MemorySegment.ofArray(chosen), dChosenLogprob);
        gpu.download(MemorySegment.ofArray(topIds), dTopIds);
        gpu.download(MemorySegment.ofArray(topLogprobs), dTopLogprobs);
        TokenLogprob[] result = logprobs == null ? new TokenLogprob[samplers.size()] : logprobs;
        for (int i = 0; i < rows; i++) {
            if (samplers.get(start + i).request().sampling().wantsLogprobs()) {
                int n = Math.min(ks[i], vocab);
                int from = i * MAX_DEVICE_LOGPROBS;
                result[start + i] = new TokenLogprob(
                        out[start + i],
                        chosen[i],
                        Arrays.copyOfRange(topIds, from, from + n),
                        Arrays.copyOfRange(topLogprobs, from, from + n));
            }
        }
        return result;
    }

    /** Device buffers of sampling and logprobs, allocated on the first request that needs them. */
    private void allocateSampling() {
        if (sampleScratch == 0) {
            sampleScratch = gpu.alloc(8L * SAMPLE_ROWS * c.vocabSize());
            dTemperatures = gpu.alloc(4L * SAMPLE_ROWS);
            dUniforms = gpu.alloc(8L * SAMPLE_ROWS);
            dSampled = gpu.alloc(4L * SAMPLE_ROWS);
            dChosen = gpu.alloc(4L * SAMPLE_ROWS);
            dTopK = gpu.alloc(4L * SAMPLE_ROWS);
            dChosenLogprob = gpu.alloc(4L * SAMPLE_ROWS);
            dTopIds = gpu.alloc(4L * SAMPLE_ROWS * MAX_DEVICE_LOGPROBS);
            dTopLogprobs = gpu.alloc(4L * SAMPLE_ROWS * MAX_DEVICE_LOGPROBS);
        }
    }

    /**
     * Draws the tokens of the tempered rows on the device ({@code sample_rows}, the CPU sampler's arithmetic) from
     * uniforms the host takes from each request's generator, as the CPU sampler would; greedy rows keep the argmax.
     */
    private void sampleOnDevice(List<Sequence> samplers, int start, int rows, int[] out) {
        int vocab = c.vocabSize();
        allocateSampling();
        float[] inv = new float[rows];
        double[] uniforms = new double[rows];
        for (int i = 0; i < rows; i++) {
            Sequence seq = samplers.get(start + i);
            var p = seq.request().sampling();
            if (!p.isGreedy()) {
                inv[i] = (float) (1 / p.temperature());
                uniforms[i] = sampler.uniform(seq);
            }
        }
        gpu.upload(dTemperatures, MemorySegment.ofArray(inv));
        gpu.upload(dUniforms, MemorySegment.ofArray(uniforms));
        gpu.launch("sample_rows", rows, 1, 256, 0, dSampled, logits, sampleScratch, dTemperatures, dUniforms, vocab);
        int[] sampled = new int[rows];
        gpu.download(MemorySegment.ofArray(sampled), dSampled);
        for (int i = 0; i < rows; i++) {
            if (!samplers.get(start + i).request().sampling().isGreedy()) {
                out[start + i] = sampled[i];
            }
        }
    }

    /**
     * The logits after {@code tokens}, computed in this backend's KV cache with blocks 0, 1, 2, ... — for tests and
     * the GPU check (it overwrites those blocks).
     */
    public float[] logitsAfter(int[] prompt) {
        int bs = kv.layout().blockSize();
        int[] table = new int[(prompt.length + bs - 1) / bs];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        int n = 0;
        for (int pos = 0; pos < prompt.length; pos++) {
            put(n++, prompt[pos], pos, table, table.length);
            if (n == microBatch || pos == prompt.length - 1) {
                sampleRows[0] = n - 1;
                forward(n, 0, pos == prompt.length - 1 ? 1 : 0);
                n = 0;
            }
        }
        gpu.launch("rmsnorm_rows", 1, 1, 256, 0, normed, finals, finalNorm, c.dim(), c.normEps());
        matMul(classifier, normed, logits, 1);
        float[] out = new float[c.vocabSize()];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(4L * out.length, 64);
            gpu.download(host, logits);
            MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
        }
        return out;
    }

    @Override
    public int vocabSize() {
        return c.vocabSize();
    }

    @Override
    public int contextLength() {
        return c.contextLength();
    }

    @Override
    public void close() {
        for (Gpu.Graph g : graphs.values()) {
            g.close();
        }
        graphs.clear();
        gpu.close();
        arena.close();
    }
}
