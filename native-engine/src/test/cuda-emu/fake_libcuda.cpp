// A stand-in for the NVIDIA driver library (libcuda.so.1) over the emulated device of emu.cpp: the CUDA driver API
// functions that JCuda's driver binding calls for the cuda engine, with the driver's signatures and result codes.
// The tests load it before JCuda, so JCudaGpu, CudaProbe and the provider run their real JCuda calls on machines
// without a GPU. Device pointers are host addresses; PTX is accepted as text and kernels are found by name.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
const char *emu_error();
void *emu_alloc(size_t bytes);
void emu_free(void *p);
int emu_params(const char *name, int *sizes, int max);
int emu_launch(const char *name, int gx, int gy, int gz, int bx, int by, int bz, int shared_bytes, void **params);
}

namespace {

typedef int CUresult;
constexpr CUresult OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_DEVICE = 101,
                   INVALID_IMAGE = 200, NOT_FOUND = 500, LAUNCH_FAILED = 719, STREAM_CAPTURE_UNSUPPORTED = 900;
constexpr size_t TOTAL = 8ull << 30;

struct Function {
    std::string name;
    std::vector<int> sizes;
};

struct Launch {
    const Function *f;
    unsigned g[3], b[3], shared;
    std::vector<std::vector<char>> params;
};

std::mutex lock;
bool initialised;
std::map<unsigned long long, size_t> allocations;
size_t allocated;
std::map<std::string, Function *> functions;
void *capturing;  // the stream being captured, or null
std::vector<Launch> *recording;

CUresult run(const Launch &l) {
    std::vector<void *> p(l.params.size());
    for (size_t i = 0; i < p.size(); i++) {
        p[i] = (void *) l.params[i].data();
    }
    if (emu_launch(l.f->name.c_str(), l.g[0], l.g[1], l.g[2], l.b[0], l.b[1], l.b[2], l.shared, p.data()) != 0) {
        std::fprintf(stderr, "fake libcuda: %s\n", emu_error());
        return LAUNCH_FAILED;
    }
    return OK;
}

}  // namespace

extern "C" {

CUresult cuInit(unsigned int) {
    initialised = true;
    return OK;
}

// The driver's CUDA version: 13.0, or TANDEM_FAKE_DRIVER_VERSION (e.g. 12040) to play an older driver, which refuses
// PTX of a newer ISA than it reads as a real one does (CUDA_ERROR_UNSUPPORTED_PTX_VERSION).
static int version() {
    const char *v = std::getenv("TANDEM_FAKE_DRIVER_VERSION");
    return v == nullptr ? 13000 : std::atoi(v);
}

CUresult cuDriverGetVersion(int *v) {
    *v = version();
    return OK;
}

CUresult cuDeviceGetCount(int *n) {
    *n = initialised ? 1 : 0;
    return initialised ? OK : NOT_INITIALIZED;
}

CUresult cuDeviceGet(int *d, int ordinal) {
    if (ordinal != 0) {
        return INVALID_DEVICE;
    }
    *d = 0;
    return OK;
}

CUresult cuDeviceGetName(char *name, int len, int) {
    std::snprintf(name, len, "Tandem emulated GPU");
    return OK;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, int) {
    *bytes = TOTAL;
    return OK;
}

CUresult cuDeviceGetAttribute(int *v, int attribute, int) {
    // 75, 76: compute capability major, minor.
    *v = attribute == 75 ? 9 : attribute == 76 ? 0 : 0;
    return OK;
}

CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
    *ctx = (void *) 0x1;
    return OK;
}

CUresult cuDevicePrimaryCtxRelease_v2(int) {
    return OK;
}

CUresult cuCtxSetCurrent(void *) {
    return OK;
}

CUresult cuStreamCreate(void **s, unsigned int) {
    *s = std::malloc(1);
    return OK;
}

CUresult cuStreamDestroy_v2(void *s) {
    std::free(s);
    return OK;
}

CUresult cuStreamSynchronize(void *s) {
    return s == capturing && s != nullptr ? STREAM_CAPTURE_UNSUPPORTED : OK;
}

CUresult cuModuleLoadData(void **module, const void *image) {
    const char *text = static_cast<const char *>(image);
    const char *at = std::strstr(text, ".version ");
    if (at == nullptr || std::strstr(text, ".entry") == nullptr) {
        return INVALID_IMAGE;
    }
    int major = 0, minor = 0;
    std::sscanf(at, ".version %d.%d", &major, &minor);
    int v = version();
    int readsMajor = v >= 13000 ? 9 : v >= 12000 ? 8 : 7;
    if (major > readsMajor) {
        return 222;  // CUDA_ERROR_UNSUPPORTED_PTX_VERSION
    }
    *module = (void *) 0x2;
    return OK;
}

CUresult cuModuleUnload(void *) {
    return OK;
}

CUresult cuModuleGetFunction(void **f, void *, const char *name) {
    std::lock_guard<std::mutex> g(lock);
    auto it = functions.find(name);
    if (it == functions.end()) {
        int sizes[64];
        int n = emu_params(name, sizes, 64);
        if (n < 0) {
            return NOT_FOUND;
        }
        Function *fn = new Function{name, std::vector<int>(sizes, sizes + n)};
        it = functions.emplace(name, fn).first;
    }
    *f = it->second;
    return OK;
}

CUresult cuFuncSetAttribute(void *, int attribute, int value) {
    // 8: max dynamic shared memory; 227 KiB on the GPUs the engine targets.
    return attribute == 8 && value > 227 * 1024 ? INVALID_VALUE : OK;
}

CUresult cuMemAlloc_v2(unsigned long long *p, size_t bytes) {
    std::lock_guard<std::mutex> g(lock);
    if (allocated + bytes > TOTAL) {
        return OUT_OF_MEMORY;
    }
    void *a = emu_alloc(bytes);
    if (a == nullptr) {
        return OUT_OF_MEMORY;
    }
    *p = (unsigned long long) a;
    allocations[*p] = bytes;
    allocated += bytes;
    return OK;
}

CUresult cuMemFree_v2(unsigned long long p) {
    std::lock_guard<std::mutex> g(lock);
    auto it = allocations.find(p);
    if (it == allocations.end()) {
        return INVALID_VALUE;
    }
    allocated -= it->second;
    allocations.erase(it);
    emu_free((void *) p);
    return OK;
}

CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
    *free = TOTAL - allocated;
    *total = TOTAL;
    return OK;
}

// True when [p, p + bytes) lies inside one allocation.
static bool inside(unsigned long long p, size_t bytes) {
    std::lock_guard<std::mutex> g(lock);
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) {
        return false;
    }
    --it;
    return p + bytes <= it->first + it->second;
}

CUresult cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t bytes, void *s) {
    if (s == capturing && s != nullptr) {
        return STREAM_CAPTURE_UNSUPPORTED;
    }
    if (!inside(dst, bytes)) {
        return INVALID_VALUE;
    }
    std::memcpy((void *) dst, src, bytes);
    return OK;
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, unsigned long long src, size_t bytes, void *s) {
    if (s == capturing && s != nullptr) {
        return STREAM_CAPTURE_UNSUPPORTED;
    }
    if (!inside(src, bytes)) {
        return INVALID_VALUE;
    }
    std::memcpy(dst, (const void *) src, bytes);
    return OK;
}

CUresult cuMemcpyDtoDAsync_v2(unsigned long long dst, unsigned long long src, size_t bytes, void *) {
    if (!inside(dst, bytes) || !inside(src, bytes)) {
        return INVALID_VALUE;
    }
    std::memmove((void *) dst, (const void *) src, bytes);
    return OK;
}

CUresult cuMemsetD8Async(unsigned long long dst, unsigned char v, size_t n, void *) {
    if (!inside(dst, n)) {
        return INVALID_VALUE;
    }
    std::memset((void *) dst, v, n);
    return OK;
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **params, void **) {
    const Function *fn = static_cast<const Function *>(f);
    Launch l{fn, {gx, gy, gz}, {bx, by, bz}, shared, {}};
    // The values are copied now, as the driver does: the caller may reuse its argument memory at once.
    for (size_t i = 0; i < fn->sizes.size(); i++) {
        const char *v = static_cast<const char *>(params[i]);
        l.params.emplace_back(v, v + fn->sizes[i]);
        l.params.back().resize(8);
    }
    if (stream == capturing && stream != nullptr) {
        recording->push_back(std::move(l));
        return OK;
    }
    return run(l);
}

CUresult cuStreamBeginCapture_v2(void *stream, int) {
    if (capturing != nullptr) {
        return INVALID_VALUE;
    }
    capturing = stream;
    recording = new std::vector<Launch>();
    return OK;
}

CUresult cuStreamEndCapture(void *stream, void **graph) {
    if (stream != capturing) {
        return INVALID_VALUE;
    }
    *graph = recording;
    capturing = nullptr;
    recording = nullptr;
    return OK;
}

CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long) {
    *exec = new std::vector<Launch>(*static_cast<std::vector<Launch> *>(graph));
    return OK;
}

CUresult cuGraphLaunch(void *exec, void *) {
    for (const Launch &l : *static_cast<std::vector<Launch> *>(exec)) {
        CUresult r = run(l);
        if (r != OK) {
            return r;
        }
    }
    return OK;
}

CUresult cuGraphExecDestroy(void *exec) {
    delete static_cast<std::vector<Launch> *>(exec);
    return OK;
}

CUresult cuGraphDestroy(void *graph) {
    delete static_cast<std::vector<Launch> *>(graph);
    return OK;
}

CUresult cuGetErrorName(CUresult, const char **s) {
    *s = "CUDA_ERROR (emulated driver)";
    return OK;
}

CUresult cuGetErrorString(CUresult, const char **s) {
    *s = "an error of the emulated driver";
    return OK;
}
}
