// Kernels of the cuda engine, compiled to PTX at build time (scripts/build-ptx) and loaded with cuModuleLoadData.
// Plain CUDA C with extern "C" names, so the host finds them by name; f32 accumulation everywhere. The host code
// that launches them (the GPU forward pass) is not built yet: these are compiled on every build with nvcc, and
// verified only where a GPU runs them.

#include <stdint.h>

#define WARP 32

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v += __shfl_down_sync(0xffffffffu, v, o);
    }
    return v;
}

// out[r] = sum_c W[r * cols + c] * x[c], W row-major f32; one warp per row, grid-stride over rows.
extern "C" __global__ void matvec_f32(float *out, const float *W, const float *x, int rows, int cols) {
    int lane = threadIdx.x % WARP;
    int warps = (gridDim.x * blockDim.x) / WARP;
    for (int r = (blockIdx.x * blockDim.x + threadIdx.x) / WARP; r < rows; r += warps) {
        const float *w = W + (size_t) r * cols;
        float acc = 0.0f;
        for (int c = lane; c < cols; c += WARP) {
            acc = fmaf(w[c], x[c], acc);
        }
        acc = warp_sum(acc);
        if (lane == 0) {
            out[r] = acc;
        }
    }
}

// As matvec_f32 with bf16 weights (the upper 16 bits of an f32), widened exactly before the multiply-add.
extern "C" __global__ void matvec_bf16(float *out, const uint16_t *W, const float *x, int rows, int cols) {
    int lane = threadIdx.x % WARP;
    int warps = (gridDim.x * blockDim.x) / WARP;
    for (int r = (blockIdx.x * blockDim.x + threadIdx.x) / WARP; r < rows; r += warps) {
        const uint16_t *w = W + (size_t) r * cols;
        float acc = 0.0f;
        for (int c = lane; c < cols; c += WARP) {
            acc = fmaf(__uint_as_float(((uint32_t) w[c]) << 16), x[c], acc);
        }
        acc = warp_sum(acc);
        if (lane == 0) {
            out[r] = acc;
        }
    }
}

// out = w * x / sqrt(mean(x^2) + eps) for one vector of n; one block (a multiple of 32 threads, at most 1024).
extern "C" __global__ void rmsnorm_f32(float *out, const float *x, const float *w, int n, float eps) {
    __shared__ float partial[WARP];
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        ss = fmaf(x[i], x[i], ss);
    }
    ss = warp_sum(ss);
    int lane = threadIdx.x % WARP;
    int warp = threadIdx.x / WARP;
    if (lane == 0) {
        partial[warp] = ss;
    }
    __syncthreads();
    if (warp == 0) {
        ss = lane < (blockDim.x + WARP - 1) / WARP ? partial[lane] : 0.0f;
        ss = warp_sum(ss);
        if (lane == 0) {
            partial[0] = 1.0f / sqrtf(ss / n + eps);
        }
    }
    __syncthreads();
    float inv = partial[0];
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        out[i] = w[i] * (inv * x[i]);
    }
}

// Rotates each head of vec (heads x head_dim) by position pos: pairs (2i, 2i+1) as llama2.c, or (i, i + head_dim/2)
// when rotate_half; inv_freq[i] is the frequency of pair i (RoPE scaling already applied by the host).
extern "C" __global__ void rope_f32(float *vec, const float *inv_freq, int pos, int heads, int head_dim,
                                    int rotate_half) {
    int half = head_dim / 2;
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < heads * half; t += gridDim.x * blockDim.x) {
        int h = t / half;
        int i = t % half;
        float angle = pos * inv_freq[i];
        float c = cosf(angle);
        float s = sinf(angle);
        int a = h * head_dim + (rotate_half ? i : 2 * i);
        int b = h * head_dim + (rotate_half ? i + half : 2 * i + 1);
        float v0 = vec[a];
        float v1 = vec[b];
        vec[a] = v0 * c - v1 * s;
        vec[b] = v0 * s + v1 * c;
    }
}

// The SwiGLU gate: g[i] = g[i] / (1 + exp(-g[i])) * u[i].
extern "C" __global__ void swiglu_f32(float *g, const float *u, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float v = g[i];
        g[i] = v / (1.0f + expf(-v)) * u[i];
    }
}

// The index of the largest logit, the first one on ties (as the CPU sampler); one block of 1024 threads.
extern "C" __global__ void argmax_f32(int *out, const float *logits, int n) {
    __shared__ float best[1024];
    __shared__ int where[1024];
    float b = -INFINITY;
    int at = n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = logits[i];
        if (v > b) {
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
        out[0] = where[0];
    }
}
