package dev.tandem.engine.cpu;

import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.StepOutput;
import dev.tandem.engine.model.LlamaConfig;
import dev.tandem.engine.model.LlamaWeights;
import dev.tandem.engine.model.Matrix;
import dev.tandem.engine.scheduler.ScheduledChunk;
import dev.tandem.engine.scheduler.Sequence;
import dev.tandem.engine.scheduler.StepPlan;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The {@code cpu} backend: a Llama-family forward pass in f32 with attention read directly from the paged KV store
 * (the block manager's block ids index it), one position at a time. Large matrix-vector products are split into
 * contiguous row ranges over a pool sized to the cores; small ones stay on the engine thread, where splitting
 * costs more than it saves.
 *
 * <p>Owned by the engine thread (scratch buffers are reused across steps).
 */
public final class CpuComputeBackend implements ComputeBackend {

    /** Below this many multiply-adds a product runs on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1 << 18;

    private final LlamaConfig c;
    private final LlamaWeights w;
    private final PagedKvStore kv;
    private final ForkJoinPool pool;
    private final Sampler sampler = new Sampler();
    private final float[] x;
    private final float[] xb;
    private final float[] xb2;
    private final float[] q;
    private final float[] k;
    private final float[] v;
    private final float[] att;
    private final float[] hb;
    private final float[] hb2;
    private final float[] logits;
    private final float[] cos;
    private final float[] sin;

    public CpuComputeBackend(LlamaConfig config, LlamaWeights weights, int kvBlocks, int blockSize, int threads) {
        this.c = config;
        this.w = weights;
        this.kv = new PagedKvStore(config.layers(), kvBlocks, blockSize, config.kvDim());
        this.pool = new ForkJoinPool(Math.max(1, threads));
        x = new float[c.dim()];
        xb = new float[Math.max(c.dim(), c.qDim())];
        xb2 = new float[c.dim()];
        q = new float[c.qDim()];
        k = new float[c.kvDim()];
        v = new float[c.kvDim()];
        att = new float[c.contextLength()];
        hb = new float[c.hiddenDim()];
        hb2 = new float[c.hiddenDim()];
        logits = new float[c.vocabSize()];
        int half = c.headDim() / 2;
        cos = new float[half];
        sin = new float[half];
    }

    /** KV capacity in blocks that fits {@code bytes} of memory for this model. */
    public static int blocksFitting(LlamaConfig c, int blockSize, long bytes) {
        return (int) Math.max(
                1, Math.min(Integer.MAX_VALUE, bytes / PagedKvStore.bytesPerBlock(c.layers(), blockSize, c.kvDim())));
    }

    @Override
    public StepOutput execute(StepPlan plan) {
        int samples = 0;
        for (ScheduledChunk ch : plan.chunks()) {
            if (ch.samples()) {
                samples++;
            }
        }
        int[] out = new int[samples];
        int s = 0;
        for (ScheduledChunk ch : plan.chunks()) {
            Sequence seq = ch.sequence();
            int[] table = seq.blocks().raw();
            int end = ch.start() + ch.tokens();
            for (int pos = ch.start(); pos < end; pos++) {
                forward(seq.token(pos), pos, table);
            }
            if (ch.samples()) {
                VectorOps.rmsNorm(xb, x, w.finalNorm(), c.dim(), c.normEps());
                matVec(w.classifier(), xb, logits);
                out[s++] = sampler.sample(logits, c.vocabSize(), seq);
            }
        }
        return new StepOutput(out, 0);
    }

    /** One position through every layer; leaves the final hidden state in {@code x}. */
    void forward(int token, int pos, int[] table) {
        int dim = c.dim();
        int hs = c.headDim();
        int kvDim = c.kvDim();
        w.embedding().row(token, x);
        ropeTables(pos);
        int kvOffset = kv.offset(table, pos);
        float scale = (float) (1.0 / Math.sqrt(hs));
        for (int l = 0; l < c.layers(); l++) {
            VectorOps.rmsNorm(xb, x, w.attnNorm()[l], dim, c.normEps());
            matVec(w.wq()[l], xb, q);
            matVec(w.wk()[l], xb, k);
            matVec(w.wv()[l], xb, v);
            rope(q, c.heads());
            rope(k, c.kvHeads());
            float[] keys = kv.keys[l];
            float[] values = kv.values[l];
            System.arraycopy(k, 0, keys, kvOffset, kvDim);
            System.arraycopy(v, 0, values, kvOffset, kvDim);

            java.util.Arrays.fill(xb, 0, c.qDim(), 0f);
            for (int h = 0; h < c.heads(); h++) {
                int qo = h * hs;
                int ko = (h / c.groupSize()) * hs;
                for (int t = 0; t <= pos; t++) {
                    att[t] = VectorOps.dot(q, qo, keys, kv.offset(table, t) + ko, hs) * scale;
                }
                VectorOps.softmax(att, 0, pos + 1);
                for (int t = 0; t <= pos; t++) {
                    VectorOps.axpy(att[t], values, kv.offset(table, t) + ko, xb, qo, hs);
                }
            }
            matVec(w.wo()[l], xb, xb2);
            for (int i = 0; i < dim; i++) {
                x[i] += xb2[i];
            }

            VectorOps.rmsNorm(xb, x, w.ffnNorm()[l], dim, c.normEps());
            matVec(w.w1()[l], xb, hb);
            matVec(w.w3()[l], xb, hb2);
            for (int i = 0; i < c.hiddenDim(); i++) {
                float g = hb[i];
                hb[i] = g / (1f + (float) Math.exp(-g)) * hb2[i];
            }
            matVec(w.w2()[l], hb, xb2);
            for (int i = 0; i < dim; i++) {
                x[i] += xb2[i];
            }
        }
    }

    private void ropeTables(int pos) {
        int hs = c.headDim();
        for (int i = 0; i < hs / 2; i++) {
            float freq = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / hs));
            float val = pos * freq;
            cos[i] = (float) Math.cos(val);
            sin[i] = (float) Math.sin(val);
        }
    }

    /** Rotates each head of {@code vec}: pairs (2i, 2i+1) (llama2.c) or (i, i + hs/2) (Hugging Face). */
    private void rope(float[] vec, int heads) {
        int hs = c.headDim();
        int half = hs / 2;
        for (int h = 0; h < heads; h++) {
            int o = h * hs;
            for (int i = 0; i < half; i++) {
                int a = c.rotateHalf() ? o + i : o + 2 * i;
                int b = c.rotateHalf() ? o + i + half : o + 2 * i + 1;
                float v0 = vec[a];
                float v1 = vec[b];
                vec[a] = v0 * cos[i] - v1 * sin[i];
                vec[b] = v0 * sin[i] + v1 * cos[i];
            }
        }
    }

    private void matVec(Matrix m, float[] in, float[] out) {
        int rows = m.rows();
        if ((long) rows * m.cols() < PARALLEL_THRESHOLD || pool.getParallelism() == 1) {
            m.matVec(in, out, 0, rows);
            return;
        }
        int parts = pool.getParallelism();
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                RecursiveAction[] tasks = new RecursiveAction[parts];
                for (int p = 0; p < parts; p++) {
                    int from = (int) ((long) rows * p / parts);
                    int to = (int) ((long) rows * (p + 1) / parts);
                    tasks[p] = new RecursiveAction() {
                        @Override
                        protected void compute() {
                            m.matVec(in, out, from, to);
                        }
                    };
                }
                invokeAll(tasks);
            }
        });
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
        pool.shutdown();
    }
}
