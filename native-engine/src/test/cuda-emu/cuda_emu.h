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
