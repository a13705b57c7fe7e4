package org.deepkern;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.internal.Devices;

/**
 * Library-wide queries: version, backends, devices, the default device, synchronization and
 * memory statistics.
 */
public final class DeepKern {
    /**
     * The environment variable that overrides the default device: cpu, emu, cuda or cuda:N
     * (see {@link #defaultDevice()}).
     */
    public static final String DEVICE_ENV = "DEEPKERN_DEVICE";
    /**
     * The system property that overrides the default device, as {@link #DEVICE_ENV} does and
     * ahead of it: {@code -Ddeepkern.device=cuda:1}.
     */
    public static final String DEVICE_PROPERTY = "deepkern.device";

    private static volatile Device defaultDevice;

    private DeepKern() {}

    /** @return the native library's version string */
    public static String version() {
        return Devices.version();
    }

    /**
     * @param type a backend
     * @return whether it can be used here, and why not
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if type is null
     */
    public static BackendInfo backend(Device.Type type) {
        if (type == null) throw DeepKernException.invalidArgument("DeepKern.backend", "type", "expected a device type, got null");
        return Devices.backend(type);
    }

    /** @return every backend, whether it can be used here and why not */
    public static List<BackendInfo> backends() {
        List<BackendInfo> out = new ArrayList<>();
        for (Device.Type t : Device.Type.values()) out.add(backend(t));
        return out;
    }

    /**
     * Every device that can be used now: cpu, emu when built, each cuda device found.
     *
     * @return the devices, cpu first, then cuda:0, cuda:1, ..., then emu
     */
    public static List<Device> devices() {
        List<Device> out = new ArrayList<>();
        for (Device.Type t : Device.Type.values()) {
            if (!backend(t).available()) continue;
            int count = Devices.count(t);
            for (int i = 0; i < count; i++) out.add(Device.of(t, i));
        }
        return out;
    }

    /**
     * The device's properties ({@code torch.cuda.get_device_properties} for cuda).
     *
     * @param device a device
     * @return its name, compute capability, multiprocessors, memory and driver
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if device is null or names no
     *         device of its backend; {@link Status#UNAVAILABLE} if its backend cannot be used
     */
    public static DeviceInfo deviceInfo(Device device) {
        final String op = "DeepKern.deviceInfo";
        return Devices.info(op, requireDevice(op, device));
    }

    /**
     * The device tensors go to when none is named: the system property {@value #DEVICE_PROPERTY}
     * if set, else the environment variable {@value #DEVICE_ENV} if set, else the first CUDA
     * device that works, else cpu. Chosen once, at the first call, unless
     * {@link #setDefaultDevice} replaces it.
     *
     * @return the default device
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if the property or variable
     *         is not a device name ({@link Device#parse})
     */
    public static Device defaultDevice() {
        Device d = defaultDevice;
        if (d == null) {
            synchronized (DeepKern.class) {
                if (defaultDevice == null) defaultDevice = chooseDefaultDevice();
                d = defaultDevice;
            }
        }
        return d;
    }

    /**
     * Replaces the default device for the rest of this JVM's life (every thread).
     *
     * @param device the new default; it must work (this fails now, not at first use)
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if device is null or names no
     *         device of its backend; {@link Status#UNAVAILABLE} or {@link Status#DEVICE} if it
     *         cannot be used
     */
    public static void setDefaultDevice(Device device) {
        final String op = "DeepKern.setDefaultDevice";
        Devices.open(op, requireDevice(op, device));
        defaultDevice = device;
    }

    private static Device chooseDefaultDevice() {
        String spec = System.getProperty(DEVICE_PROPERTY);
        if (spec == null || spec.isBlank()) spec = System.getenv(DEVICE_ENV);
        if (spec != null && !spec.isBlank()) return Device.parse(spec);
        for (Device d : devices()) {
            if (d.type() != Device.Type.CUDA) continue;
            try {
                Devices.open("DeepKern.defaultDevice", d);
                return d;
            } catch (DeepKernException e) {
                // a device that cannot make a context is skipped
            }
        }
        return Device.CPU;
    }

    /**
     * Waits for every op queued on the device ({@code torch.cuda.synchronize}). Ops run
     * asynchronously on the device's stream; copies to the host wait for them anyway.
     *
     * @param device the device
     * @throws DeepKernException if device is null or cannot be used, or with
     *         {@link Status#DEVICE} for an error a queued op raised
     */
    public static void synchronize(Device device) {
        final String op = "DeepKern.synchronize";
        Devices.synchronize(op, requireDevice(op, device));
    }

    /**
     * The caching allocator's counters ({@code torch.cuda.memory_stats}).
     *
     * @param device the device
     * @return its allocator's counters: bytes in use, peak, cached and reserved, and allocation counts
     * @throws DeepKernException if device is null or cannot be used
     */
    public static MemoryStats memoryStats(Device device) {
        final String op = "DeepKern.memoryStats";
        return Devices.memoryStats(op, requireDevice(op, device));
    }

    /**
     * Starts the peak of {@link #memoryStats} again from the memory in use now
     * ({@code torch.cuda.reset_peak_memory_stats}).
     *
     * @param device the device
     * @throws DeepKernException if device is null or cannot be used
     */
    public static void resetPeakMemory(Device device) {
        final String op = "DeepKern.resetPeakMemory";
        Devices.resetPeakMemory(op, requireDevice(op, device));
    }

    /**
     * Returns every cached, unused block of the device's allocator to the device
     * ({@code torch.cuda.empty_cache}); memory held by live tensors stays.
     *
     * @param device the device
     * @throws DeepKernException if device is null or cannot be used
     */
    public static void emptyCache(Device device) {
        final String op = "DeepKern.emptyCache";
        Devices.emptyCache(op, requireDevice(op, device));
    }

    /**
     * Lets f32 {@code matmul}, {@code linear} and the conv2d forward and gradients on the device round their
     * operands to TF32 (10 mantissa bits, nearest with ties away from zero) for the tensor cores,
     * accumulating in f32: several times the f32 throughput of a GPU, at about 1e-3 relative
     * error per product instead of 1e-7. Off by default, so f32 means f32 unless asked; this is
     * {@code torch.backends.cuda.matmul.allow_tf32} and {@code torch.backends.cudnn.allow_tf32}
     * in one switch (torch turns the second on by default). The cuda and emu backends honour it;
     * the cpu backend computes in f32 either way.
     *
     * @param device the device
     * @param allow whether f32 products may use TF32
     * @throws DeepKernException if device is null or cannot be used
     */
    public static void setAllowTf32(Device device, boolean allow) {
        final String op = "DeepKern.setAllowTf32";
        Devices.setAllowTf32(op, requireDevice(op, device), allow);
    }

    /**
     * @param device the device
     * @return whether f32 products on the device may use TF32 ({@link #setAllowTf32})
     * @throws DeepKernException if device is null or cannot be used
     */
    public static boolean allowTf32(Device device) {
        final String op = "DeepKern.allowTf32";
        return Devices.allowTf32(op, requireDevice(op, device));
    }

    /**
     * Makes every op on the device give bitwise the same result on every run with the same inputs
     * ({@code torch.use_deterministic_algorithms}). Off by default. The one op it changes is the
     * attention backward on cuda and emu, whose query gradient is otherwise summed with atomics in
     * no fixed order: it then takes a separate pass over the keys per query tile (about 1.4x the
     * backward's FLOPs). Every other op is deterministic either way.
     *
     * @param device the device
     * @param deterministic whether results must repeat bit for bit
     * @throws DeepKernException if device is null or cannot be used
     */
    public static void setDeterministic(Device device, boolean deterministic) {
        final String op = "DeepKern.setDeterministic";
        Devices.setDeterministic(op, requireDevice(op, device), deterministic);
    }

    /**
     * @param device the device
     * @return whether ops on the device must repeat bit for bit ({@link #setDeterministic})
     * @throws DeepKernException if device is null or cannot be used
     */
    public static boolean deterministic(Device device) {
        final String op = "DeepKern.deterministic";
        return Devices.deterministic(op, requireDevice(op, device));
    }

    private static Device requireDevice(String op, Device device) {
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        return device;
    }
}
