// Kernels of the cuda engine (engine/cuda/CudaComputeBackend launches them by name), compiled to PTX at build time by
// scripts/build-ptx and loaded with cuModuleLoadData. Plain CUDA C with extern "C" names; f32 accumulation.
//
// Built with -fmad=false: a multiply-add is fused only where fmaf is written, so every product, RoPE rotation and
// softmax step has the one rounding order the comments give, and f32 products equal the CPU engine's bit for bit
// (one FMA chain over k from 0, llama2.c's order).
//
// The same source also compiles as C++ on the CPU against a small emulation of the CUDA built-ins (fibers for
// threads, barriers for __syncthreads and shuffles): the build's tests run every kernel and the whole forward pass
// there, token-exact against the CPU engine. Hence DYNAMIC_SHARED, and no CUDA feature the emulation lacks.
//
// Layouts (the host's contract):
//   activations: row-major [token][feature], f32
//   weights:     row-major [row][col] (one row per output), f32 or bf16 (the upper 16 bits of an f32)
//   KV cache:    the KvLayout of the connector SPI: per block, per layer, keys [kv head][slot][head dim] then
//                values the same; f32. One extra scratch block after the scheduler's receives padding tokens.
//   tables:      [token][max blocks] block ids of each token's sequence; positions: [token]

#include <stdint.h>
#ifdef __CUDACC__
#include <mma.h>
#endif

#define WARP 32

#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

__device__ __forceinline__ float bf16(uint16_t b) {
    return __uint_as_float(((uint32_t) b) << 16);
}

// A value of every thread of the block reduced to one (sum or max), returned to all threads. `red` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float *red) {
    int lane = threadIdx.x % WARP;
    int warp = threadIdx.x / WARP;
    int warps = (blockDim.x + WARP - 1) / WARP;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) {
        red[warp] = v;
    }
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < warps; w++) {
        total += red[w];
    }
    return total;
}

__device__ __forceinline__ float block_max(float v, float *red) {
    int lane = threadIdx.x % WARP;
    int warp = threadIdx.x / WARP;
    int warps = (blockDim.x + WARP - 1) / WARP;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) {
        red[warp] = v;
    }
    __syncthreads();
    float m = red[0];
    for (int w = 1; w < warps; w++) {
        m = fmaxf(m, red[w]);
    }
    return m;
}

// ---- embedding -------------------------------------------------------------------------------------------------

// out[t] = W[tokens[t]]; grid (n), any block size.
extern "C" __global__ void embed_f32(float *out, const float *W, const int *tokens, int dim) {
    int t = blockIdx.x;
    const float *row = W + (size_t) tokens[t] * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        out[(size_t) t * dim + i] = row[i];
    }
}

extern "C" __global__ void embed_bf16(float *out, const uint16_t *W, const int *tokens, int dim) {
    int t = blockIdx.x;
    const uint16_t *row = W + (size_t) tokens[t] * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        out[(size_t) t * dim + i] = bf16(row[i]);
    }
}

// ---- normalisation, element-wise ------------------------------------------------------------------------------

// out[r] = w * (inv * x[r]) with inv = 1 / sqrt(mean(x[r]^2) + eps), for rows of n (each query or key head too, for
// Qwen3's per-head norms: rows = tokens x heads, n = head dim). grid (rows), block a multiple of 32 up to 1024.
extern "C" __global__ void rmsnorm_rows(float *out, const float *x, const float *w, int n, float eps) {
    __shared__ float red[WARP];
    const float *xr = x + (size_t) blockIdx.x * n;
    float *o = out + (size_t) blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        ss = fmaf(xr[i], xr[i], ss);
    }
    ss = block_sum(ss, red);
    float inv = (float) (1.0 / sqrt((double) (ss / n + eps)));
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        o[i] = w[i] * (inv * xr[i]);
    }
}

// x[r][c] += b[c] for rows of n (attention biases, Qwen2).
extern "C" __global__ void add_bias_rows(float *x, const float *b, int n, int count) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        x[i] += b[i % n];
    }
}

// Rotates every query and key head of each token (q: tokens x heads x head_dim, k: tokens x kv_heads x head_dim) by
// its position; cos/sin tables [position][head_dim/2] come from the host (the CPU engine's own values). Pairs
// (2i, 2i+1) as llama2.c, or (i, i + head_dim/2) when rotate_half. grid (tokens, heads + kv_heads), block any.
extern "C" __global__ void rope(float *q, float *k, const float *cos_tab, const float *sin_tab, const int *positions,
                                int heads, int kv_heads, int head_dim, int rotate_half) {
    int t = blockIdx.x;
    int h = blockIdx.y;
    int half = head_dim / 2;
    const float *ct = cos_tab + (size_t) positions[t] * half;
    const float *st = sin_tab + (size_t) positions[t] * half;
    float *v = h < heads ? q + ((size_t) t * heads + h) * head_dim : k + ((size_t) t * kv_heads + h - heads) * head_dim;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        int a = rotate_half ? i : 2 * i;
        int b = rotate_half ? i + half : 2 * i + 1;
        float v0 = v[a];
        float v1 = v[b];
        float c = ct[i];
        float s = st[i];
        v[a] = v0 * c - v1 * s;
        v[b] = v0 * s + v1 * c;
    }
}

// out[i] = x[idx[i]] for rows of n (the hidden states of the positions that sample).
extern "C" __global__ void gather_rows(float *out, const float *x, const int *idx, int n) {
    const float *src = x + (size_t) idx[blockIdx.x] * n;
    float *dst = out + (size_t) blockIdx.x * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        dst[i] = src[i];
    }
}

// ---- matrix products ------------------------------------------------------------------------------------------

// Where output row r of token t goes. A product's rows may be stacked matrices (Q, K and V as one): rows [0, s1) go
// to o0 ([token][s1]), [s1, s2) to o1 ([token][s2 - s1]), [s2, rows) to o2 ([token][rows - s2]), so each keeps its
// own layout. One matrix: s1 = s2 = rows.
__device__ __forceinline__ float *segment_at(float *o0, float *o1, float *o2, int s1, int s2, int rows, int t,
                                             int r) {
    if (r < s1) {
        return o0 + (size_t) t * s1 + r;
    }
    if (r < s2) {
        return o1 + (size_t) t * (s2 - s1) + (r - s1);
    }
    return o2 + (size_t) t * (rows - s2) + (r - s2);
}

// How a product's result `acc` lands in `out`, so that the residual add and the SwiGLU gate need no launch and no
// extra pass over memory; each mode is the CPU engine's own operations on the finished product:
//   EPI_STORE:    out = acc
//   EPI_RESIDUAL: out = out + acc                         (the residual stream after the output and down products)
//   EPI_GATE:     out = g / (1 + exp(-g)) * acc, g = out  (out holds the gate product; acc is the up product)
#define EPI_STORE 0
#define EPI_RESIDUAL 1
#define EPI_GATE 2

__device__ __forceinline__ void epilogue(float *out, float acc, int mode) {
    if (mode == EPI_RESIDUAL) {
        *out = *out + acc;
    } else if (mode == EPI_GATE) {
        float g = *out;
        float e = (float) exp((double) -g);
        *out = g / (1.0f + e) * acc;
    } else {
        *out = acc;
    }
}

// out[t][r] = sum_k W[r][k] * x[t][k] for tokens [0, n): one FMA chain over k from 0 per output (the CPU engine's
// order, so f32 equals it bit for bit and a token's result does not depend on its batch). Tiles of 64 rows x 64
// tokens staged through shared memory, k in steps of 16; each of 256 threads owns 4 rows x 4 tokens. Outputs: see
// segment_at; `mode`: see epilogue. grid (ceil(rows/64), ceil(n/64)), block 256.
#define GM 64
#define GN 64
#define GK 16

#define GEMM_BODY(LOAD_W)                                                                                              \
    __shared__ float ws[GK][GM + 4];                                                                                   \
    __shared__ float xs[GK][GN + 4];                                                                                   \
    int tid = threadIdx.x;                                                                                             \
    int r0 = blockIdx.x * GM;                                                                                          \
    int t0 = blockIdx.y * GN;                                                                                          \
    int tr = (tid / 16) * 4;                                                                                           \
    int tt = (tid % 16) * 4;                                                                                           \
    float acc[4][4];                                                                                                   \
    for (int i = 0; i < 4; i++) {                                                                                      \
        for (int j = 0; j < 4; j++) {                                                                                  \
            acc[i][j] = 0.0f;                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
    for (int k0 = 0; k0 < cols; k0 += GK) {                                                                            \
        for (int e = tid; e < GM * GK; e += 256) {                                                                     \
            int r = e / GK;                                                                                            \
            int k = e % GK;                                                                                            \
            int gr = r0 + r;                                                                                           \
            int gk = k0 + k;                                                                                           \
            ws[k][r] = gr < rows && gk < cols ? LOAD_W((size_t) gr * cols + gk) : 0.0f;                                \
            int gt = t0 + r;                                                                                           \
            xs[k][r] = gt < n && gk < cols ? x[(size_t) gt * cols + gk] : 0.0f;                                        \
        }                                                                                                              \
        __syncthreads();                                                                                               \
        int kmax = cols - k0 < GK ? cols - k0 : GK;                                                                    \
        for (int k = 0; k < kmax; k++) {                                                                               \
            float a0 = ws[k][tr], a1 = ws[k][tr + 1], a2 = ws[k][tr + 2], a3 = ws[k][tr + 3];                          \
            float b0 = xs[k][tt], b1 = xs[k][tt + 1], b2 = xs[k][tt + 2], b3 = xs[k][tt + 3];                          \
            acc[0][0] = fmaf(a0, b0, acc[0][0]);                                                                       \
            acc[0][1] = fmaf(a0, b1, acc[0][1]);                                                                       \
            acc[0][2] = fmaf(a0, b2, acc[0][2]);                                                                       \
            acc[0][3] = fmaf(a0, b3, acc[0][3]);                                                                       \
            acc[1][0] = fmaf(a1, b0, acc[1][0]);                                                                       \
            acc[1][1] = fmaf(a1, b1, acc[1][1]);                                                                       \
            acc[1][2] = fmaf(a1, b2, acc[1][2]);                                                                       \
            acc[1][3] = fmaf(a1, b3, acc[1][3]);                                                                       \
            acc[2][0] = fmaf(a2, b0, acc[2][0]);                                                                       \
            acc[2][1] = fmaf(a2, b1, acc[2][1]);                                                                       \
            acc[2][2] = fmaf(a2, b2, acc[2][2]);                                                                       \
            acc[2][3] = fmaf(a2, b3, acc[2][3]);                                                                       \
            acc[3][0] = fmaf(a3, b0, acc[3][0]);                                                                       \
            acc[3][1] = fmaf(a3, b1, acc[3][1]);                                                                       \
            acc[3][2] = fmaf(a3, b2, acc[3][2]);                                                                       \
            acc[3][3] = fmaf(a3, b3, acc[3][3]);                                                                       \
        }                                                                                                              \
        __syncthreads();                                                                                               \
    }                                                                                                                  \
    for (int i = 0; i < 4; i++) {                                                                                      \
        for (int j = 0; j < 4; j++) {                                                                                  \
            int gr = r0 + tr + i;                                                                                      \
            int gt = t0 + tt + j;                                                                                      \
            if (gr < rows && gt < n) {                                                                                 \
                epilogue(segment_at(out, out1, out2, s1, s2, rows, gt, gr), acc[i][j], mode);                          \
            }                                                                                                          \
        }                                                                                                              \
    }

#define LOAD_F32(i) W[i]
#define LOAD_BF16(i) bf16(W[i])

extern "C" __global__ void gemm_f32(float *out, float *out1, float *out2, int s1, int s2, const float *W,
                                    const float *x, int rows, int cols, int n, int mode) {
    GEMM_BODY(LOAD_F32)
}

extern "C" __global__ void gemm_bf16(float *out, float *out1, float *out2, int s1, int s2, const uint16_t *W,
                                     const float *x, int rows, int cols, int n, int mode) {
    GEMM_BODY(LOAD_BF16)
}

// The bandwidth-bound product of a few tokens (decode): out[t][r] = sum_k W[r][k] * x[t][k] for t < n <= 8, each
// weight read once for all n. One warp per row, each lane 8 consecutive bf16 (one 16-byte load) per step, partial
// sums reduced across the warp at the end: a different order than gemm_bf16, so a token's bf16 result depends
// (within rounding) on whether its step decodes or prefills. cols must be a multiple of 8 (the host checks).
// grid (ceil(rows/8)), block 256.
#define GEMV_MAX 8
extern "C" __global__ void gemv_bf16(float *out, float *out1, float *out2, int s1, int s2, const uint16_t *W,
                                     const float *x, int rows, int cols, int n, int mode) {
    int lane = threadIdx.x % WARP;
    int r = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (r >= rows) {
        return;
    }
    const uint4 *w = (const uint4 *) (W + (size_t) r * cols);
    float acc[GEMV_MAX];
    for (int t = 0; t < GEMV_MAX; t++) {
        acc[t] = 0.0f;
    }
    int steps = cols / 8;
    // Unrolled so that several 16-byte loads are in flight per lane before their multiply-adds (decode is bound by
    // how many bytes are in flight, not by arithmetic).
#pragma unroll 4
    for (int s = lane; s < steps; s += WARP) {
        uint4 p = w[s];
        float wv[8];
        wv[0] = __uint_as_float(p.x << 16);
        wv[1] = __uint_as_float(p.x & 0xffff0000u);
        wv[2] = __uint_as_float(p.y << 16);
        wv[3] = __uint_as_float(p.y & 0xffff0000u);
        wv[4] = __uint_as_float(p.z << 16);
        wv[5] = __uint_as_float(p.z & 0xffff0000u);
        wv[6] = __uint_as_float(p.w << 16);
        wv[7] = __uint_as_float(p.w & 0xffff0000u);
        for (int t = 0; t < GEMV_MAX; t++) {
            if (t < n) {
                const float4 *xv = (const float4 *) (x + (size_t) t * cols + (size_t) s * 8);
                float4 x0 = xv[0];
                float4 x1 = xv[1];
                float a = acc[t];
                a = fmaf(wv[0], x0.x, a);
                a = fmaf(wv[1], x0.y, a);
                a = fmaf(wv[2], x0.z, a);
                a = fmaf(wv[3], x0.w, a);
                a = fmaf(wv[4], x1.x, a);
                a = fmaf(wv[5], x1.y, a);
                a = fmaf(wv[6], x1.z, a);
                a = fmaf(wv[7], x1.w, a);
                acc[t] = a;
            }
        }
    }
    for (int t = 0; t < GEMV_MAX; t++) {
        if (t < n) {
            float v = warp_sum(acc[t]);
            if (lane == 0) {
                epilogue(segment_at(out, out1, out2, s1, s2, rows, t, r), v, mode);
            }
        }
    }
}

// ---- KV cache and attention -----------------------------------------------------------------------------------

// The first element of one head's key (half 0) or value (half 1) vector at a slot of a block, in the KvLayout.
__device__ __forceinline__ size_t kv_offset(int block, int layer, int layers, int half, int kv_heads, int head,
                                            int block_size, int slot, int head_dim) {
    return (((((size_t) block * layers + layer) * 2 + half) * kv_heads + head) * block_size + slot) * head_dim;
}

// Writes each token's key and value (kv_heads x head_dim each) into its slot: block tables[t][pos / bs], slot
// pos % bs. grid (n), block any.
extern "C" __global__ void kv_store(float *kv, const float *k, const float *v, const int *tables, const int *positions,
                                    int max_blocks, int layer, int layers, int block_size, int kv_heads,
                                    int head_dim) {
    int t = blockIdx.x;
    int pos = positions[t];
    int block = tables[(size_t) t * max_blocks + pos / block_size];
    int slot = pos % block_size;
    int kv_dim = kv_heads * head_dim;
    for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        int h = i / head_dim;
        int d = i % head_dim;
        kv[kv_offset(block, layer, layers, 0, kv_heads, h, block_size, slot, head_dim) + d] = k[(size_t) t * kv_dim + i];
        kv[kv_offset(block, layer, layers, 1, kv_heads, h, block_size, slot, head_dim) + d] = v[(size_t) t * kv_dim + i];
    }
}

// Causal attention of one query head of one token over its sequence's keys 0..pos, read through the block table
// (decode and prefill alike: every token of a prefill chunk attends over the keys written before it, its own
// included). In the CPU engine's order, so f32 attention equals it: score_j = (q . k_j, one FMA chain over d from 0)
// * scale; p_j = exp(score_j - max) rounded once to f32; their sum in index order; p_j *= 1 / sum; out[d] = one FMA
// chain over j of p_j * v_j[d]. One thread per key scores it (no cross-lane sum), one thread per dimension sums
// the values. The serial sum costs one add per key on one thread: small beside reading the keys.
// Scores live in dynamic shared memory, after the query: (head_dim + max context) floats, set by the host.
// grid (n, heads), block 128.
extern "C" __global__ void attention(float *out, const float *q, const float *kv, const int *tables,
                                     const int *positions, int max_blocks, int layer, int layers, int block_size,
                                     int heads, int kv_heads, int head_dim, float scale) {
    DYNAMIC_SHARED(float, smem);
    __shared__ float red[WARP];
    __shared__ float inv_sum;
    int t = blockIdx.x;
    int h = blockIdx.y;
    int kvh = h / (heads / kv_heads);
    int ctx = positions[t] + 1;
    const int *table = tables + (size_t) t * max_blocks;
    float *qs = smem;
    float *scores = smem + head_dim;
    const float *qh = q + ((size_t) t * heads + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        qs[d] = qh[d];
    }
    __syncthreads();
    float m = -INFINITY;
    for (int j = threadIdx.x; j < ctx; j += blockDim.x) {
        const float *key =
            kv + kv_offset(table[j / block_size], layer, layers, 0, kv_heads, kvh, block_size, j % block_size, head_dim);
        float a = 0.0f;
        // Unrolled so that a key's cache lines are requested together, not one after the other.
#pragma unroll 16
        for (int d = 0; d < head_dim; d++) {
            a = fmaf(qs[d], key[d], a);
        }
        a = a * scale;
        scores[j] = a;
        m = fmaxf(m, a);
    }
    m = block_max(m, red);
    for (int j = threadIdx.x; j < ctx; j += blockDim.x) {
        scores[j] = (float) exp((double) (scores[j] - m));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (int j = 0; j < ctx; j++) {
            s += scores[j];
        }
        inv_sum = 1.0f / s;
    }
    __syncthreads();
    float inv = inv_sum;
    for (int j = threadIdx.x; j < ctx; j += blockDim.x) {
        scores[j] = scores[j] * inv;
    }
    __syncthreads();
    float *oh = out + ((size_t) t * heads + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float a = 0.0f;
        // Sixteen value rows in flight per thread: at batch 1 this loop waits on memory, not on the multiply-adds.
#pragma unroll 16
        for (int j = 0; j < ctx; j++) {
            const float *val = kv + kv_offset(table[j / block_size], layer, layers, 1, kv_heads, kvh, block_size,
                                              j % block_size, head_dim);
            a = fmaf(scores[j], val[d], a);
        }
        oh[d] = a;
    }
}

// ---- token selection ------------------------------------------------------------------------------------------

// ids[r] = the index of the largest logit of row r, the first one on ties (as the CPU sampler and llama2.c).
// grid (rows), block 256.
extern "C" __global__ void argmax_rows(int *ids, const float *logits, int vocab) {
    __shared__ float best[256];
    __shared__ int where[256];
    const float *row = logits + (size_t) blockIdx.x * vocab;
    float b = -INFINITY;
    int at = vocab;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float v = row[i];
        if (v > b || (at == vocab && v == b)) {
            b = v;
            at = i;
        }
    }
    best[threadIdx.x] = b;
    where[threadIdx.x] = at;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            float o = best[threadIdx.x + s];
            int oi = where[threadIdx.x + s];
            if (o > best[threadIdx.x] || (o == best[threadIdx.x] && oi < where[threadIdx.x])) {
                best[threadIdx.x] = o;
                where[threadIdx.x] = oi;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        ids[blockIdx.x] = where[0] < vocab ? where[0] : 0;
    }
}

// A token drawn from the tempered softmax of each row, exactly as the CPU engine's sampler draws it when no
// penalty, top-k, top-p or min-p applies: l_i = logit_i * inv (f32), m = max l_i, p_i = exp(l_i - m) in double, their
// sum in index order, then the first i where r < sum_{j<=i} p_j / sum (r: the host's uniform draw from the request's
// generator). The sums run on one thread, in index order, so that the draw is the CPU's; p_i are computed by all
// threads into `scratch` (rows x vocab doubles) first. grid (rows), block 256.
extern "C" __global__ void sample_rows(int *ids, const float *logits, double *scratch, const float *inv_temperature,
                                       const double *uniforms, int vocab) {
    __shared__ float red[WARP];
    const float *row = logits + (size_t) blockIdx.x * vocab;
    double *p = scratch + (size_t) blockIdx.x * vocab;
    float inv = inv_temperature[blockIdx.x];
    float m = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        m = fmaxf(m, row[i] * inv);
    }
    m = block_max(m, red);
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float l = row[i] * inv;
        p[i] = exp((double) (l - m));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double sum = 0.0;
        for (int i = 0; i < vocab; i++) {
            sum += p[i];
        }
        double r = uniforms[blockIdx.x];
        double acc = 0.0;
        int chosen = vocab - 1;
        for (int i = 0; i < vocab; i++) {
            acc += p[i] / sum;
            if (r < acc) {
                chosen = i;
                break;
            }
        }
        ids[blockIdx.x] = chosen;
    }
}

// Log-probabilities of each row's chosen token and of its k most likely tokens, exactly as the CPU engine's Logprobs
// computes them from the raw logits: m = max, logZ = m + log(sum of exp(l_i - m) in double, index order), the top k
// by insertion in index order (earlier index first among equals), each as (float) (l - logZ). The exponentials are
// computed by all threads into `scratch`; the sum and the selection run on one thread, in the CPU's order.
// grid (rows), block 256; ks[r] <= max_k.
extern "C" __global__ void logprobs_rows(float *chosen_lp, int *top_ids, float *top_lp, const float *logits,
                                         double *scratch, const int *chosen, const int *ks, int vocab, int max_k) {
    __shared__ float red[WARP];
    const float *row = logits + (size_t) blockIdx.x * vocab;
    double *p = scratch + (size_t) blockIdx.x * vocab;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        m = fmaxf(m, row[i]);
    }
    m = block_max(m, red);
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        p[i] = exp((double) row[i] - (double) m);
    }
    __syncthreads();
    if (threadIdx.x != 0) {
        return;
    }
    double sum = 0.0;
    for (int i = 0; i < vocab; i++) {
        sum += p[i];
    }
    double log_z = (double) m + log(sum);
    int n = ks[blockIdx.x] < vocab ? ks[blockIdx.x] : vocab;
    int *top = top_ids + (size_t) blockIdx.x * max_k;
    int filled = 0;
    for (int i = 0; i < vocab && n > 0; i++) {
        float v = row[i];
        if (filled < n || v > row[top[filled - 1]]) {
            int j = filled < n - 1 ? filled : n - 1;
            while (j > 0 && row[top[j - 1]] < v) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = i;
            if (filled < n) {
                filled++;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        top_lp[(size_t) blockIdx.x * max_k + i] = (float) ((double) row[top[i]] - log_z);
    }
    chosen_lp[blockIdx.x] = (float) ((double) row[chosen[blockIdx.x]] - log_z);
}

// ---- tensor cores (option tensor-cores; off by default until measured on a GPU) -------------------------------

// The bf16 product of many tokens on tensor cores, near f32 accuracy: bf16 weights are exact in TF32, and each f32
// activation is split into two TF32 terms (hi = tf32(a), lo = tf32(a - hi)), so out = W·hi + W·lo loses only what
// the two terms cannot hold (about 2^-22 relative) and the accumulation order inside an MMA. Same outputs and
// epilogues as gemm_bf16. Tiles of 64 tokens x 64 rows, k in steps of 32 through shared memory; each of 4 warps owns
// 16 tokens x 64 rows (four 16x16 accumulators). grid (ceil(rows/64), ceil(n/64)), block 128.
#define TC_K 32
#define TC_LD (TC_K + 4)
extern "C" __global__ void gemm_bf16_tc(float *out, float *out1, float *out2, int s1, int s2, const uint16_t *W,
                                        const float *x, int rows, int cols, int n, int mode) {
    using namespace nvcuda;
    __shared__ __align__(32) float xs[64 * TC_LD];
    __shared__ __align__(32) float ws[64 * TC_LD];
    __shared__ __align__(32) float cs[64 * 68];
    int tid = threadIdx.x;
    int warp = tid / WARP;
    int r0 = blockIdx.x * 64;
    int t0 = blockIdx.y * 64;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4];
    for (int j = 0; j < 4; j++) {
        wmma::fill_fragment(acc[j], 0.0f);
    }
    for (int k0 = 0; k0 < cols; k0 += TC_K) {
        for (int e = tid; e < 64 * TC_K; e += blockDim.x) {
            int i = e / TC_K;
            int k = e % TC_K;
            int gk = k0 + k;
            int gt = t0 + i;
            int gr = r0 + i;
            xs[i * TC_LD + k] = gt < n && gk < cols ? x[(size_t) gt * cols + gk] : 0.0f;
            ws[i * TC_LD + k] = gr < rows && gk < cols ? bf16(W[(size_t) gr * cols + gk]) : 0.0f;
        }
        __syncthreads();
        for (int kk = 0; kk < TC_K; kk += 8) {
            wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> hi;
            wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> lo;
            wmma::load_matrix_sync(hi, xs + warp * 16 * TC_LD + kk, TC_LD);
            for (int i = 0; i < hi.num_elements; i++) {
                float a = hi.x[i];
                float h = wmma::__float_to_tf32(a);
                hi.x[i] = h;
                lo.x[i] = wmma::__float_to_tf32(a - h);
            }
            for (int j = 0; j < 4; j++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b;
                wmma::load_matrix_sync(b, ws + j * 16 * TC_LD + kk, TC_LD);
                wmma::mma_sync(acc[j], lo, b, acc[j]);
                wmma::mma_sync(acc[j], hi, b, acc[j]);
            }
        }
        __syncthreads();
    }
    // Through shared memory to the epilogue: [token][row] in cs.
    for (int j = 0; j < 4; j++) {
        wmma::store_matrix_sync(cs + warp * 16 * 68 + j * 16, acc[j], 68, wmma::mem_row_major);
    }
    __syncthreads();
    for (int e = tid; e < 64 * 64; e += blockDim.x) {
        int i = e / 64;
        int r = e % 64;
        int gt = t0 + i;
        int gr = r0 + r;
        if (gt < n && gr < rows) {
            epilogue(segment_at(out, out1, out2, s1, s2, rows, gt, gr), cs[i * 68 + r], mode);
        }
    }
}
