package org.deepkern;

/**
 * What a device reports ({@link DeepKern#deviceInfo}). For cuda: compute capability, SMs, memory,
 * L2 and the driver and runtime versions (CUDA encoding, 13000 = 13.0). For cpu and emu: hardware
 * threads, RAM, L2.
 *
 * @param device the device described
 * @param name the GPU's product name; the CPU's model name (emu: "kernel emulator on ...")
 * @param computeMajor the CUDA compute capability's major number (9 for sm_90); 0 for cpu and emu
 * @param computeMinor its minor number; 0 for cpu and emu
 * @param multiprocessors streaming multiprocessors on cuda, the emulated GPU's (a constant 16) on emu, worker
 *        threads on cpu
 * @param totalMemory bytes of device memory on cuda, of RAM on cpu and emu
 * @param l2CacheBytes bytes of L2 cache; 0 where the system does not say
 * @param driverVersion the CUDA driver's version, 1000 major + 10 minor (13000 = 13.0); 0 for cpu
 *        and emu, or when there is no driver
 * @param runtimeVersion the CUDA runtime's version, encoded the same way; 0 for cpu and emu
 */
public record DeviceInfo(Device device, String name, int computeMajor, int computeMinor, int multiprocessors,
                         long totalMemory, long l2CacheBytes, int driverVersion, int runtimeVersion) {

    /** @return {@code major.minor}, such as {@code 9.0} ({@code 0.0} for cpu and emu) */
    public String computeCapability() {
        return computeMajor + "." + computeMinor;
    }
}
