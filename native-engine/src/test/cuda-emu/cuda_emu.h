// A CPU emulation of the CUDA built-ins that the cuda engine's kernels use, so the build's tests can run the very
// kernels.cu that nvcc compiles to PTX (no GPU on the build machines). One block runs at a time; each of its threads is
// a fiber with its own stack. __syncthreads and the warp shuffles are barriers: a fiber runs until it reaches one,
// and the scheduler releases a barrier once every live thread of the block (or of the warp) waits at it. A kernel
// that would deadlock or diverge on a barrier on a GPU stops here with an error instead.
//
// What it cannot show: races between threads (fibers do not interleave between barriers), memory-model and
// alignment faults, timing. Those are checked on a GPU by scripts/gpu-check.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

struct emu_dim3 {
    unsigned x, y, z;
};

struct uint4 {
    unsigned x, y, z, w;
} __attribute__((aligned(16)));

struct float4 {
    float x, y, z, w;
} __attribute__((aligned(16)));

extern emu_dim3 emu_block_idx, emu_block_dim, emu_grid_dim;
extern char *emu_dynamic_shared;
emu_dim3 &emu_thread_idx();
void emu_sync_block();
uint32_t emu_exchange(uint32_t bits, int src_lane_xor);

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (emu_thread_idx())
#define blockIdx emu_block_idx
#define blockDim emu_block_dim
#define gridDim emu_grid_dim
#define DYNAMIC_SHARED(type, name) type *name = reinterpret_cast<type *>(emu_dynamic_shared)

inline void __syncthreads() {
    emu_sync_block();
}

inline float __uint_as_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline uint32_t __float_as_uint(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float __shfl_xor_sync(unsigned, float v, int o) {
    return __uint_as_float(emu_exchange(__float_as_uint(v), o));
}

inline int __shfl_xor_sync(unsigned, int v, int o) {
    return (int) emu_exchange((uint32_t) v, o);
}

using std::exp;
using std::fmaf;
using std::fmaxf;
using std::sqrt;

// Tensor-core fragments (WMMA) for the emulation: every lane holds the whole tile, so a kernel that only loads,
// converts element-wise, multiplies and stores fragments (never assuming which lane holds which element) computes
// what it computes on a GPU. An MMA here is a plain f32 multiply-add chain per output; on a GPU the accumulation
// order inside an MMA is the hardware's, so results agree within rounding, not bit for bit.
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K>
struct shape {
    static constexpr int rows = M, cols = N;
};
template <int M, int N, int K>
struct shape<matrix_a, M, N, K> {
    static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct shape<matrix_b, M, N, K> {
    static constexpr int rows = K, cols = N;
};

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static constexpr int rows = shape<Use, M, N, K>::rows;
    static constexpr int cols = shape<Use, M, N, K>::cols;
    static constexpr int num_elements = rows * cols;
    float x[num_elements];
};

inline float __float_to_tf32(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7f800000u) != 0x7f800000u) {
        u += 0x1000u;  // round to nearest, ties away from zero, to 10 mantissa bits
        u &= 0xffffe000u;
    }
    return __uint_as_float(u);
}

template <typename Use, int M, int N, int K, typename T, typename Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout> &f, float v) {
    for (int i = 0; i < f.num_elements; i++) {
        f.x[i] = v;
    }
}

template <typename Use, int M, int N, int K, typename T>
void load_matrix_sync(fragment<Use, M, N, K, T, row_major> &f, const float *p, unsigned ldm) {
    for (int r = 0; r < f.rows; r++) {
        for (int c = 0; c < f.cols; c++) {
            f.x[r * f.cols + c] = p[r * ldm + c];
        }
    }
}

template <typename Use, int M, int N, int K, typename T>
void load_matrix_sync(fragment<Use, M, N, K, T, col_major> &f, const float *p, unsigned ldm) {
    for (int r = 0; r < f.rows; r++) {
        for (int c = 0; c < f.cols; c++) {
            f.x[r * f.cols + c] = p[c * ldm + r];
        }
    }
}

template <int M, int N, int K, typename T, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float> &d, const fragment<matrix_a, M, N, K, T, LA> &a,
              const fragment<matrix_b, M, N, K, T, LB> &b, const fragment<accumulator, M, N, K, float> &c) {
    float out[M * N];
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float s = c.x[i * N + j];
            for (int k = 0; k < K; k++) {
                s = std::fmaf(a.x[i * K + k], b.x[k * N + j], s);
            }
            out[i * N + j] = s;
        }
    }
    for (int i = 0; i < M * N; i++) {
        d.x[i] = out[i];
    }
}

template <int M, int N, int K>
void store_matrix_sync(float *p, const fragment<accumulator, M, N, K, float> &f, unsigned ldm, layout_t layout) {
    for (int r = 0; r < M; r++) {
        for (int c = 0; c < N; c++) {
            if (layout == mem_row_major) {
                p[r * ldm + c] = f.x[r * N + c];
            } else {
                p[c * ldm + r] = f.x[r * N + c];
            }
        }
    }
}
}  // namespace wmma
}  // namespace nvcuda

#define __align__(n) __attribute__((aligned(n)))
