// The emulated device: memory is host memory, a launch runs every block of the grid in turn, each block's threads
// as fibers (see cuda_emu.h). Compiled by the tests (CudaEmulator) together with kernels.cu and the list of its
// kernels (kernel_table.inc, one X(name) per kernel, written by the test from kernels.cu).
#include "cuda_emu.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <ucontext.h>
#include <utility>
#include <vector>

#include KERNELS_CU

emu_dim3 emu_block_idx, emu_block_dim, emu_grid_dim;
char *emu_dynamic_shared;

namespace {

enum State { READY, WAIT_BLOCK, WAIT_WARP, DONE };

constexpr size_t STACK = 256 * 1024;

struct Fiber {
    jmp_buf ctx;
    ucontext_t start;
    char *stack = nullptr;
    State state = READY;
    bool started = false;
    emu_dim3 tid{};
    uint32_t exchange = 0;
};

std::vector<Fiber> fibers;
int block_threads;
int current;
jmp_buf scheduler;
void (*body)(void **);
void **body_params;
char error[512];

template <typename... A, size_t... I>
void invoke(void (*k)(A...), void **p, std::index_sequence<I...>) {
    k(*static_cast<A *>(p[I])...);
}

template <typename... A>
void invoke(void (*k)(A...), void **p) {
    invoke(k, p, std::index_sequence_for<A...>{});
}

template <typename... A>
std::vector<int> sizes(void (*)(A...)) {
    return {(int) sizeof(A)...};
}

struct Kernel {
    const char *name;
    void (*run)(void **);
    std::vector<int> (*params)();
};

#define X(name) {#name, [](void **p) { invoke(name, p); }, []() { return sizes(name); }},
const Kernel KERNELS[] = {
#include "kernel_table.inc"
};
#undef X

void yield(State s) {
    Fiber &f = fibers[current];
    f.state = s;
    if (!_setjmp(f.ctx)) {
        _longjmp(scheduler, 1);
    }
}

// A fiber's whole life: park, run a thread's body when resumed, mark it done, park again. Created once per fiber
// slot (the only ucontext switch, which costs a system call); every later switch is a _setjmp/_longjmp pair.
void fiber_main() {
    int me = current;
    while (true) {
        if (!_setjmp(fibers[me].ctx)) {
            _longjmp(scheduler, 1);
        }
        body(body_params);
        fibers[me].state = DONE;
    }
}

void create(int i) {
    Fiber &f = fibers[i];
    current = i;
    getcontext(&f.start);
    f.start.uc_stack.ss_sp = f.stack;
    f.start.uc_stack.ss_size = STACK;
    f.start.uc_link = nullptr;
    makecontext(&f.start, fiber_main, 0);
    if (!_setjmp(scheduler)) {
        ucontext_t here;
        swapcontext(&here, &f.start);
    }
}

void resume(int i) {
    current = i;
    fibers[i].started = true;
    if (!_setjmp(scheduler)) {
        _longjmp(fibers[i].ctx, 1);
    }
}

// Runs one block to the end; false (and `error`) on a barrier that can never be released.
bool run_block(int threads) {
    for (int i = 0; i < threads; i++) {
        Fiber &f = fibers[i];
        f.state = READY;
        f.started = false;
        f.tid = {(unsigned) (i % emu_block_dim.x), (unsigned) (i / emu_block_dim.x % emu_block_dim.y),
                 (unsigned) (i / (emu_block_dim.x * emu_block_dim.y))};
    }
    block_threads = threads;
    while (true) {
        for (int i = 0; i < threads; i++) {
            if (fibers[i].state == READY) {
                resume(i);
            }
        }
        int done = 0, atBlock = 0;
        bool released = false;
        for (int w = 0; w * 32 < threads; w++) {
            int end = std::min(threads, w * 32 + 32);
            int waiting = 0, alive = 0;
            for (int i = w * 32; i < end; i++) {
                alive += fibers[i].state != DONE;
                waiting += fibers[i].state == WAIT_WARP;
            }
            if (waiting > 0 && waiting == alive) {
                for (int i = w * 32; i < end; i++) {
                    if (fibers[i].state == WAIT_WARP) {
                        fibers[i].state = READY;
                    }
                }
                released = true;
            }
        }
        if (released) {
            continue;
        }
        for (int i = 0; i < threads; i++) {
            done += fibers[i].state == DONE;
            atBlock += fibers[i].state == WAIT_BLOCK;
        }
        if (done == threads) {
            return true;
        }
        if (atBlock + done == threads) {
            for (int i = 0; i < threads; i++) {
                if (fibers[i].state == WAIT_BLOCK) {
                    fibers[i].state = READY;
                }
            }
            continue;
        }
        std::snprintf(error, sizeof error,
                      "deadlock in block (%u,%u,%u): %d threads wait at __syncthreads, %d at a shuffle, %d ended",
                      emu_block_idx.x, emu_block_idx.y, emu_block_idx.z, atBlock, threads - atBlock - done, done);
        return false;
    }
}

}  // namespace

emu_dim3 &emu_thread_idx() {
    return fibers[current].tid;
}

void emu_sync_block() {
    yield(WAIT_BLOCK);
}

uint32_t emu_exchange(uint32_t bits, int lane_xor) {
    fibers[current].exchange = bits;
    int me = current;
    if ((me & ~31) + 32 > block_threads && error[0] == 0) {
        // A full-mask shuffle needs all 32 lanes; a GPU gives undefined values here.
        std::snprintf(error, sizeof error, "a full-warp shuffle in block (%u,%u,%u) whose last warp has %d threads",
                      emu_block_idx.x, emu_block_idx.y, emu_block_idx.z, block_threads % 32);
    }
    yield(WAIT_WARP);
    int partner = (me & ~31) | ((me & 31) ^ lane_xor);
    uint32_t got = partner < block_threads && fibers[partner].started ? fibers[partner].exchange : bits;
    yield(WAIT_WARP);
    return got;
}

extern "C" {

const char *emu_error() {
    return error;
}

void *emu_alloc(size_t bytes) {
    size_t rounded = (bytes + 255) / 256 * 256;
    void *p = std::aligned_alloc(256, rounded == 0 ? 256 : rounded);
    if (p != nullptr) {
        std::memset(p, 0, rounded);
    }
    return p;
}

void emu_free(void *p) {
    std::free(p);
}

// The byte sizes of kernel `name`'s parameters into sizes[0, max); their count, or -1 for no such kernel.
int emu_params(const char *name, int *sizes, int max) {
    for (const Kernel &c : KERNELS) {
        if (std::strcmp(c.name, name) == 0) {
            std::vector<int> s = c.params();
            for (int i = 0; i < (int) s.size() && i < max; i++) {
                sizes[i] = s[i];
            }
            return (int) s.size();
        }
    }
    return -1;
}

// 0 on success; otherwise a message in emu_error().
int emu_launch(const char *name, int gx, int gy, int gz, int bx, int by, int bz, int shared_bytes, void **params) {
    const Kernel *k = nullptr;
    for (const Kernel &c : KERNELS) {
        if (std::strcmp(c.name, name) == 0) {
            k = &c;
        }
    }
    if (k == nullptr) {
        std::snprintf(error, sizeof error, "no kernel named %s", name);
        return 1;
    }
    int threads = bx * by * bz;
    if (threads <= 0 || threads > 1024 || gx <= 0 || gy <= 0 || gz <= 0) {
        std::snprintf(error, sizeof error, "%s: invalid launch grid (%d,%d,%d) block (%d,%d,%d)", name, gx, gy, gz, bx,
                      by, bz);
        return 1;
    }
    if (shared_bytes > 227 * 1024) {
        std::snprintf(error, sizeof error, "%s: %d bytes of dynamic shared memory, more than a GPU has", name,
                      shared_bytes);
        return 1;
    }
    if ((int) fibers.size() < threads) {
        // Fibers hold pointers into the vector's storage only through their index; grow it once, then create.
        size_t old = fibers.size();
        fibers.resize(threads);
        for (size_t i = old; i < fibers.size(); i++) {
            fibers[i].stack = static_cast<char *>(std::malloc(STACK));
            create((int) i);
        }
    }
    std::vector<char> shared(shared_bytes + 16);
    emu_dynamic_shared = shared.data();
    emu_block_dim = {(unsigned) bx, (unsigned) by, (unsigned) bz};
    emu_grid_dim = {(unsigned) gx, (unsigned) gy, (unsigned) gz};
    body = k->run;
    body_params = params;
    error[0] = 0;
    for (int z = 0; z < gz; z++) {
        for (int y = 0; y < gy; y++) {
            for (int x = 0; x < gx; x++) {
                emu_block_idx = {(unsigned) x, (unsigned) y, (unsigned) z};
                if (!run_block(threads) || error[0] != 0) {
                    return 1;
                }
            }
        }
    }
    return 0;
}
}
