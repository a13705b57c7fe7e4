package org.deepkern;

/**
 * What a device reports. For cuda: compute capability, SMs, memory, L2 and the driver and
 * runtime versions (CUDA encoding, 13000 = 13.0). For cpu and emu: hardware threads, RAM, L2.
 */
public record DeviceInfo(Device device, String name, int computeMajor, int computeMinor, int multiprocessors,
                         long totalMemory, long l2CacheBytes, int driverVersion, int runtimeVersion) {

    public String computeCapability() {
        return computeMajor + "." + computeMinor;
    }
}
