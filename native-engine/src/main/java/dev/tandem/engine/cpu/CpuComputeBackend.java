package dev.tandem.engine.cpu;

import dev.tandem.api.engine.TokenLogprob;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;
import dev.tandem.engine.model.Matrix;
import dev.tandem.engine.scheduler.ScheduledChunk;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.scheduler.StepPlan;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code cpu} backend: a Llama-family forward pass in f32 over every position of a step at once (decode tokens
 * of many sequences and prefill chunks alike), with attention read directly from the paged KV store that the block
 * manager's block ids index.
 *
 * <p>Positions are processed in micro-batches of up to {@link #MICRO_BATCH}, layer by layer: each weight matrix is
 * read once per micro-batch for all its positions (the memory traffic that bounds decode), split into contiguous
 * row ranges over a pool sized to the cores. Within a micro-batch, a sequence's positions come in order and every
 * layer writes all their K/V before attending, so causality holds across chunk and micro-batch boundaries.
 *
 * <p>Owned by the engine thread (scratch buffers are reused across steps); the pool only runs its row ranges.
 */
public final class CpuComputeBackend implements ComputeBackend {

    /** Positions computed together; bounds the scratch memory (MICRO_BATCH × hidden floats per buffer). */
    static final int MICRO_BATCH = 64;

    /**
     * Row ranges of a parallel product start at multiples of this: four f32 panels (a single token's product takes
     * four at a time, a batched one two), so no panel is split between threads and computed twice.
     */
    private static final int ROW_ALIGN = 4 * VectorOps.lanes();

    /** Below this many multiply-adds a product runs on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1 << 17;

    private final LlamaConfig c;
    private final LlamaWeights w;
    private final PagedKvStore kv;
    private final ComputeTeam team;
    private final int threads;
    private final Sampler sampler = new Sampler();
    private dev.tandem.api.kv.connector.KvConnector connector;
    private dev.tandem.api.kv.connector.ConnectorMetadata stepMetadata =
            dev.tandem.api.kv.connector.ConnectorMetadata.EMPTY;
    private final float[][] x;
    private final float[][] xb;
    private final float[][] xb2;
    private final float[][] q;
    private final float[][] k;
    private final float[][] v;
    private final float[][] hb;
    private final float[][] hb2;
    private final BlockedAttention attention;
    /** Logits of sampling positions, allocated on first use (vocab × micro-batch floats). */
    private float[][] logitRows = new float[0][];

    private final int[] tokens = new int[MICRO_BATCH];
    private final int[] positions = new int[MICRO_BATCH];
    private final int[][] tables = new int[MICRO_BATCH][];
    private final int[] sampleSlot = new int[MICRO_BATCH];
    private final float[] invFreq;
    private final float[][] ropeCos;
    private final float[][] ropeSin;

    public CpuComputeBackend(LlamaConfig config, LlamaWeights weights, int kvBlocks, int blockSize, int threads) {
        this.c = config;
        this.w = weights;
        this.kv = new PagedKvStore(config.layers(), kvBlocks, blockSize, config.kvHeads(), config.headDim());
        this.threads = Math.max(1, threads);
        this.team = new ComputeTeam(this.threads);
        x = new float[MICRO_BATCH][c.dim()];
        xb = new float[MICRO_BATCH][Math.max(c.dim(), c.qDim())];
        xb2 = new float[MICRO_BATCH][c.dim()];
        q = new float[MICRO_BATCH][c.qDim()];
        k = new float[MICRO_BATCH][c.kvDim()];
        v = new float[MICRO_BATCH][c.kvDim()];
        hb = new float[MICRO_BATCH][c.hiddenDim()];
        hb2 = new float[MICRO_BATCH][c.hiddenDim()];
        attention = new BlockedAttention(kv, config, this.threads, MICRO_BATCH);
        invFreq = c.ropeInverseFrequencies();
        ropeCos = new float[MICRO_BATCH][c.headDim() / 2];
        ropeSin = new float[MICRO_BATCH][c.headDim() / 2];
    }

    /** KV capacity in blocks that fits {@code bytes} of memory for this model. */
    public static int blocksFitting(LlamaConfig c, int blockSize, long bytes) {
        long per = PagedKvStore.bytesPerBlock(c.layers(), blockSize, c.kvDim());
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, bytes / per));
    }

    @Override
    public dev.tandem.api.kv.connector.KvBlockStore kvStore() {
        return kv;
    }

    @Override
    public void connect(dev.tandem.api.kv.connector.KvConnector connector) {
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
        List<ScheduledChunk> samplers = new ArrayList<>();
        List<float[]> finals = new ArrayList<>();
        int n = 0;
        for (ScheduledChunk ch : plan.chunks()) {
            Sequence seq = ch.sequence();
            int[] table = seq.blocks().raw();
            int end = ch.start() + ch.tokens();
            for (int pos = ch.start(); pos < end; pos++) {
                tokens[n] = seq.token(pos);
                positions[n] = pos;
                tables[n] = table;
                sampleSlot[n] = -1;
                if (pos == end - 1 && ch.samples()) {
                    sampleSlot[n] = samplers.size();
                    samplers.add(ch);
                    finals.add(null);
                }
                n++;
                if (n == MICRO_BATCH) {
                    forward(n, finals);
                    n = 0;
                }
            }
        }
        if (n > 0) {
            forward(n, finals);
        }
        // The classifier is the largest matrix: read it once for up to a micro-batch of sampling positions.
        int[] out = new int[samplers.size()];
        TokenLogprob[] logprobs = null;
        int needed = Math.min(MICRO_BATCH, out.length);
        if (logitRows.length < needed) {
            logitRows = new float[needed][c.vocabSize()];
        }
        for (int start = 0; start < out.length; start += MICRO_BATCH) {
            int rows = Math.min(MICRO_BATCH, out.length - start);
            for (int i = 0; i < rows; i++) {
                VectorOps.rmsNorm(xb[i], finals.get(start + i), w.finalNorm(), c.dim(), c.normEps());
            }
            matMul(w.classifier(), xb, logitRows, rows);
            for (int i = 0; i < rows; i++) {
                Sequence seq = samplers.get(start + i).sequence();
                var sampling = seq.request().sampling();
                // Log-probabilities are the model's, before penalties and temperature change the logits.
                float[] raw = sampling.wantsLogprobs() ? logitRows[i].clone() : null;
                out[start + i] = sampler.sample(logitRows[i], c.vocabSize(), seq);
                if (raw != null) {
                    if (logprobs == null) {
                        logprobs = new TokenLogprob[out.length];
                    }
                    logprobs[start + i] = Logprobs.of(raw, c.vocabSize(), out[start + i], sampling.logprobs());
                }
            }
        }
        return new StepOutput(out, 0, logprobs);
    }

    /**
     * The logits after {@code tokens}, computed in this backend's KV store with blocks 0, 1, 2, ... — for tests and
     * tools on a backend that serves no engine (it overwrites those blocks).
     */
    public float[] logitsAfter(int[] tokens) {
        int[] table = new int[(tokens.length + kv.blockSize - 1) / kv.blockSize];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        int n = 0;
        for (int pos = 0; pos < tokens.length; pos++) {
            this.tokens[n] = tokens[pos];
            positions[n] = pos;
            tables[n] = table;
            sampleSlot[n] = -1;
            n++;
            if (n == MICRO_BATCH || pos == tokens.length - 1) {
                layers(n);
                n = n == MICRO_BATCH && pos < tokens.length - 1 ? 0 : n;
            }
        }
        float[] h = new float[c.dim()];
        VectorOps.rmsNorm(h, x[n - 1], w.finalNorm(), c.dim(), c.normEps());
        float[][] res = {new float[c.vocabSize()]};
        matMul(w.classifier(), new float[][] {h}, res, 1);
        return res[0];
    }

    /** Positions [0, n) of the micro-batch through every layer; keeps the final states of sampling positions. */
    private void forward(int n, List<float[]> finals) {
        layers(n);
        for (int t = 0; t < n; t++) {
            if (sampleSlot[t] >= 0) {
                finals.set(sampleSlot[t], x[t].clone());
            }
        }
    }

    /** Positions [0, n) of the micro-batch through every layer; leaves their hidden states in {@code x}. */
    private void layers(int n) {
        int dim = c.dim();
        for (int t = 0; t < n; t++) {
            w.embedding().row(tokens[t], x[t]);
        }
        ropeTables(n);
        int attentionItems = attention.plan(n, positions, tables);
        for (int l = 0; l < c.layers(); l++) {
            for (int t = 0; t < n; t++) {
                VectorOps.rmsNorm(xb[t], x[t], w.attnNorm()[l], dim, c.normEps());
            }
            matMul3(w.wq()[l], q, w.wk()[l], k, w.wv()[l], v, xb, n);
            var bias = w.attnBias() == null ? null : w.attnBias()[l];
            var qkNorm = w.qkNorm() == null ? null : w.qkNorm()[l];
            for (int t = 0; t < n; t++) {
                if (bias != null) {
                    add(q[t], bias.q());
                    add(k[t], bias.k());
                    add(v[t], bias.v());
                }
                if (qkNorm != null) {
                    normHeads(q[t], c.heads(), qkNorm.q());
                    normHeads(k[t], c.kvHeads(), qkNorm.k());
                }
                rope(q[t], c.heads(), t);
                rope(k[t], c.kvHeads(), t);
                kv.writeKey(l, tables[t], positions[t], k[t]);
                kv.writeValue(l, tables[t], positions[t], v[t]);
            }
            if (connector != null) {
                connector.waitForLayerLoad(l);
            }
            int layer = l;
            parallel(
                    attentionItems, (part, from, to) -> attention.run(part, from, to, layer, q, xb, positions, tables));
            if (connector != null) {
                connector.saveLayer(l, stepMetadata);
            }
            matMul(w.wo()[l], xb, xb2, n);
            for (int t = 0; t < n; t++) {
                float[] xt = x[t];
                float[] d = xb2[t];
                for (int i = 0; i < dim; i++) {
                    xt[i] += d[i];
                }
                VectorOps.rmsNorm(xb[t], xt, w.ffnNorm()[l], dim, c.normEps());
            }
            gatedUp(w.w1()[l], w.w3()[l], n);
            matMul(w.w2()[l], hb, xb2, n);
            for (int t = 0; t < n; t++) {
                float[] xt = x[t];
                float[] d = xb2[t];
                for (int i = 0; i < dim; i++) {
                    xt[i] += d[i];
                }
            }
        }
    }

    private static void add(float[] x, float[] b) {
        for (int i = 0; i < b.length; i++) {
            x[i] += b[i];
        }
    }

    /** RMSNorm of each head of {@code vec} with the per-head weights {@code weight} (Qwen3's q/k norm). */
    private void normHeads(float[] vec, int heads, float[] weight) {
        int hs = c.headDim();
        float[] head = new float[hs];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(vec, h * hs, head, 0, hs);
            float ss = 0;
            for (float f : head) {
                ss += f * f;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / hs + c.normEps()));
            for (int i = 0; i < hs; i++) {
                vec[h * hs + i] = weight[i] * (inv * head[i]);
            }
        }
    }

    /** The rotation angles' cosines and sines of each position of the micro-batch, shared by all layers. */
    private void ropeTables(int n) {
        int half = c.headDim() / 2;
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < half; i++) {
                float val = positions[t] * invFreq[i];
                ropeCos[t][i] = (float) Math.cos(val);
                ropeSin[t][i] = (float) Math.sin(val);
            }
        }
    }

    /** Rotates each head of {@code vec} by position {@code t}'s angles: pairs (2i, 2i+1) or (i, i + hs/2). */
    private void rope(float[] vec, int heads, int t) {
        int hs = c.headDim();
        int half = hs / 2;
        float[] cosT = ropeCos[t];
        float[] sinT = ropeSin[t];
        for (int h = 0; h < heads; h++) {
            int o = h * hs;
            for (int i = 0; i < half; i++) {
                float cos = cosT[i];
                float sin = sinT[i];
                int a = c.rotateHalf() ? o + i : o + 2 * i;
                int b = c.rotateHalf() ? o + i + half : o + 2 * i + 1;
                float v0 = vec[a];
                float v1 = vec[b];
                vec[a] = v0 * cos - v1 * sin;
                vec[b] = v0 * sin + v1 * cos;
            }
        }
    }

    private void matMul(Matrix m, float[][] in, float[][] out, int n) {
        int rows = m.rows();
        if ((long) rows * m.cols() * n < PARALLEL_THRESHOLD || threads == 1) {
            m.matMul(in, out, n, 0, rows);
            return;
        }
        team.run(rows, ROW_ALIGN, (part, from, to) -> m.matMul(in, out, n, from, to));
    }

    /**
     * The gated feed-forward up-projection: {@code hb = silu(w1 · xb) ⊙ (w3 · xb)}. Each chunk of hidden rows takes
     * both products and applies the gate to its own rows, so the gate runs in parallel and costs no extra
     * synchronisation.
     */
    private void gatedUp(Matrix w1, Matrix w3, int n) {
        team.run(w1.rows(), ROW_ALIGN, (part, from, to) -> {
            w1.matMul(xb, hb, n, from, to);
            w3.matMul(xb, hb2, n, from, to);
            for (int t = 0; t < n; t++) {
                Exponentials.swiGlu(hb[t], hb2[t], from, to);
            }
        });
    }

    /** Three products of the same input (Q, K, V) in one parallel region. */
    private void matMul3(
            Matrix a, float[][] outA, Matrix b, float[][] outB, Matrix c3, float[][] outC, float[][] in, int n) {
        int ra = a.rows();
        int rb = b.rows();
        team.run(ra + rb + c3.rows(), ROW_ALIGN, (part, from, to) -> {
            if (from < ra) {
                a.matMul(in, outA, n, from, Math.min(to, ra));
            }
            int bFrom = Math.max(from, ra) - ra;
            int bTo = Math.min(to, ra + rb) - ra;
            if (bFrom < bTo) {
                b.matMul(in, outB, n, bFrom, bTo);
            }
            if (to > ra + rb) {
                c3.matMul(in, outC, n, Math.max(from, ra + rb) - ra - rb, to - ra - rb);
            }
        });
    }

    /** Runs {@code body} over [0, total) items of uneven cost (attention's (query block, head) pairs). */
    private void parallel(int total, ComputeTeam.Range body) {
        team.runUneven(total, body);
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
        team.close();
    }
}
