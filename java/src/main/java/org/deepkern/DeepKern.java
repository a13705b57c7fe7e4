package org.deepkern;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.deepkern.bindings.dk_device_props;
import org.deepkern.bindings.dk_memory_stats;
import org.deepkern.bindings.dk_context;
import org.deepkern.internal.Native;

/**
 * Library-wide queries: version, backends, devices, the default device, synchronization and
 * memory statistics.
 */
public final class DeepKern {
    /** Overrides the default device: cpu, emu, cuda or cuda:N. */
    public static final String DEVICE_ENV = "DEEPKERN_DEVICE";
    public static final String DEVICE_PROPERTY = "deepkern.device";

    private static volatile Device defaultDevice;

    static {
        Native.init();
    }

    private DeepKern() {}

    public static String version() {
        return dk_version().getString();
    }

    public static BackendInfo backend(Device.Type type) {
        try (IntPointer available = new IntPointer(1)) {
            BytePointer reason = new BytePointer((BytePointer) null);  // points at a static string
            check(dk_backend_info(type.code(), available, reason));
            return new BackendInfo(type, available.get() != 0, reason.isNull() ? "" : reason.getString());
        }
    }

    public static List<BackendInfo> backends() {
        List<BackendInfo> out = new ArrayList<>();
        for (Device.Type t : Device.Type.values()) out.add(backend(t));
        return out;
    }

    /** Every device that can be used now: cpu, emu when built, each cuda device found. */
    public static List<Device> devices() {
        List<Device> out = new ArrayList<>();
        for (Device.Type t : Device.Type.values()) {
            if (!backend(t).available()) continue;
            int[] count = new int[1];
            check(dk_device_count(t.code(), count));
            for (int i = 0; i < count[0]; i++) out.add(Device.of(t, i));
        }
        return out;
    }

    public static DeviceInfo deviceInfo(Device device) {
        final String op = "DeepKern.deviceInfo";
        requireDevice(op, device);
        try (dk_device_props p = new dk_device_props()) {
            Native.check(op, dk_device_query(device.type().code(), device.index(), p));
            return new DeviceInfo(device, p.name().getString(), p.compute_major(), p.compute_minor(),
                    p.multiprocessors(), p.total_memory(), p.l2_cache_bytes(), p.driver_version(),
                    p.runtime_version());
        }
    }

    /**
     * The device tensors go to when none is named: {@value #DEVICE_ENV} or the system property
     * {@value #DEVICE_PROPERTY} if set, else the first CUDA device that works, else cpu.
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

    /** Replaces the default device for the rest of this JVM's life. */
    public static void setDefaultDevice(Device device) {
        context("DeepKern.setDefaultDevice", device);  // fails now, not at first use, if the device does not work
        defaultDevice = device;
    }

    private static Device chooseDefaultDevice() {
        String spec = System.getProperty(DEVICE_PROPERTY);
        if (spec == null || spec.isBlank()) spec = System.getenv(DEVICE_ENV);
        if (spec != null && !spec.isBlank()) return Device.parse(spec);
        for (Device d : devices()) {
            if (d.type() != Device.Type.CUDA) continue;
            try {
                Native.context(d);
                return d;
            } catch (DeepKernException e) {
                // a device that cannot make a context is skipped
            }
        }
        return Device.CPU;
    }

    /** Waits for every op queued on the device. */
    public static void synchronize(Device device) {
        final String op = "DeepKern.synchronize";
        Native.check(op, dk_synchronize(context(op, device)));
    }

    public static MemoryStats memoryStats(Device device) {
        try (dk_memory_stats s = new dk_memory_stats()) {
            final String op = "DeepKern.memoryStats";
            Native.check(op, dk_memory_stats_get(context(op, device), s));
            return new MemoryStats(s.in_use(), s.peak_in_use(), s.cached(), s.reserved(), s.alloc_count(),
                    s.cache_hits());
        }
    }

    public static void resetPeakMemory(Device device) {
        final String op = "DeepKern.resetPeakMemory";
        Native.check(op, dk_memory_reset_peak(context(op, device)));
    }

    /** Returns every cached, unused block of the device's allocator to the device. */
    public static void emptyCache(Device device) {
        final String op = "DeepKern.emptyCache";
        Native.check(op, dk_empty_cache(context(op, device)));
    }

    private static Device requireDevice(String op, Device device) {
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        return device;
    }

    private static dk_context context(String op, Device device) {
        return Native.context(op, requireDevice(op, device));
    }
}
