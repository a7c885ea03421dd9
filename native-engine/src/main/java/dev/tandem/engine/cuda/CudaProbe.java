package dev.tandem.engine.cuda;

import jcuda.CudaException;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * Whether this machine can run CUDA, through the driver API only: JCuda's driver binding loads {@code libcuda.so.1}
 * (installed by every NVIDIA driver; no CUDA toolkit or runtime library is needed), then {@code cuInit} and the
 * device count. Each failure is one line that names CUDA, for {@code --engine cuda} to print.
 */
final class CudaProbe {

    /** What the probe found: a device's name, memory and compute capability, or why there is none. */
    record Result(boolean found, String reason, String device, long memoryBytes, int major, int minor) {

        static Result missing(String reason) {
            return new Result(false, reason, "", 0, 0, 0);
        }

        /** The device as one line, e.g. {@code device 0: NVIDIA H200, 139.8 GiB, compute 9.0}. */
        String describe(int index) {
            return String.format(
                    "device %d: %s, %.1f GiB, compute %d.%d",
                    index, device, memoryBytes / (double) (1L << 30), major, minor);
        }
    }

    private CudaProbe() {}

    /** Probes device {@code index}; never throws. */
    static Result probe(int index) {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] == 0) {
                return Result.missing("CUDA: the NVIDIA driver reports no GPU");
            }
            if (index < 0 || index >= count[0]) {
                return Result.missing("CUDA: no device " + index + " (devices 0.." + (count[0] - 1) + ")");
            }
            CUdevice d = new CUdevice();
            JCudaDriver.cuDeviceGet(d, index);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, d);
            long[] memory = new long[1];
            JCudaDriver.cuDeviceTotalMem(memory, d);
            int[] major = new int[1];
            int[] minor = new int[1];
            JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d);
            JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d);
            int end = 0;
            while (end < name.length && name[end] != 0) {
                end++;
            }
            return new Result(
                    true,
                    "",
                    new String(name, 0, end, java.nio.charset.StandardCharsets.US_ASCII),
                    memory[0],
                    major[0],
                    minor[0]);
        } catch (LinkageError e) {
            // JCuda's native library links against libcuda.so.1; without an NVIDIA driver it cannot load.
            return Result.missing("CUDA: no NVIDIA driver here (libcuda.so.1 could not be loaded)");
        } catch (CudaException e) {
            return Result.missing("CUDA: the driver did not start (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            return Result.missing("CUDA: " + e);
        }
    }
}
