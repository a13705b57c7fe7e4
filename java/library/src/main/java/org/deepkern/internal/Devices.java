package org.deepkern.internal;

import static org.deepkern.bindings.global.deepkern.*;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.deepkern.BackendInfo;
import org.deepkern.Device;
import org.deepkern.DeviceInfo;
import org.deepkern.Emulator;
import org.deepkern.MemoryStats;
import org.deepkern.bindings.dk_device_props;
import org.deepkern.bindings.dk_emu_options;
import org.deepkern.bindings.dk_memory_stats;

/**
 * The native side of {@link org.deepkern.DeepKern} and {@link Emulator}: backends, devices, their
 * streams and allocators, the emulator's options. Failures in the words of the public method op.
 * Not part of the public API.
 */
public final class Devices {
    static {
        Native.init();
    }

    private Devices() {}

    /** The per-block shared memory limits of deepkern.h, for {@link Emulator}'s constants. */
    public static final long SHARED_LIMIT_SM80 = DK_SHARED_LIMIT_SM80;
    public static final long SHARED_LIMIT_SM86 = DK_SHARED_LIMIT_SM86;
    public static final long SHARED_LIMIT_SM90 = DK_SHARED_LIMIT_SM90;

    public static String version() {
        return dk_version().getString();
    }

    public static BackendInfo backend(Device.Type type) {
        try (IntPointer available = new IntPointer(1)) {
            BytePointer reason = new BytePointer((BytePointer) null);  // points at a static string
            Native.check("DeepKern.backend", dk_backend_info(type.code(), available, reason));
            return new BackendInfo(type, available.get() != 0, reason.isNull() ? "" : reason.getString());
        }
    }

    public static int count(Device.Type type) {
        int[] count = new int[1];
        Native.check("DeepKern.devices", dk_device_count(type.code(), count));
        return count[0];
    }

    public static DeviceInfo info(String op, Device device) {
        try (dk_device_props p = new dk_device_props()) {
            Native.check(op, dk_device_query(device.type().code(), device.index(), p));
            return new DeviceInfo(device, p.name().getString(), p.compute_major(), p.compute_minor(),
                    p.multiprocessors(), p.total_memory(), p.l2_cache_bytes(), p.driver_version(),
                    p.runtime_version());
        }
    }

    /** Makes the device's context now (it fails here, not at first use, if the device does not work). */
    public static void open(String op, Device device) {
        Native.context(op, device);
    }

    public static void synchronize(String op, Device device) {
        Native.check(op, dk_synchronize(Native.context(op, device)));
    }

    public static MemoryStats memoryStats(String op, Device device) {
        try (dk_memory_stats s = new dk_memory_stats()) {
            Native.check(op, dk_memory_stats_get(Native.context(op, device), s));
            return new MemoryStats(s.in_use(), s.peak_in_use(), s.cached(), s.reserved(), s.alloc_count(),
                    s.cache_hits());
        }
    }

    public static void resetPeakMemory(String op, Device device) {
        Native.check(op, dk_memory_reset_peak(Native.context(op, device)));
    }

    public static void emptyCache(String op, Device device) {
        Native.check(op, dk_empty_cache(Native.context(op, device)));
    }

    public static void setAllowTf32(String op, Device device, boolean allow) {
        Native.check(op, dk_set_allow_tf32(Native.context(op, device), allow ? 1 : 0));
    }

    public static boolean allowTf32(String op, Device device) {
        int[] allow = new int[1];
        Native.check(op, dk_get_allow_tf32(Native.context(op, device), allow));
        return allow[0] != 0;
    }

    public static void setDeterministic(String op, Device device, boolean deterministic) {
        Native.check(op, dk_set_deterministic(Native.context(op, device), deterministic ? 1 : 0));
    }

    public static boolean deterministic(String op, Device device) {
        int[] deterministic = new int[1];
        Native.check(op, dk_get_deterministic(Native.context(op, device), deterministic));
        return deterministic[0] != 0;
    }

    public static Emulator.Options emulatorOptions(String op) {
        try (dk_emu_options o = new dk_emu_options()) {
            Native.check(op, dk_emu_get_options(Native.context(op, Device.EMU), o));
            return new Emulator.Options(Emulator.Schedule.values()[o.schedule()], o.schedule_seed(), o.shared_limit(),
                    o.threads(), o.compute_capability());
        }
    }

    public static void setEmulatorOptions(String op, Emulator.Options options) {
        try (dk_emu_options o = new dk_emu_options()) {
            o.schedule(options.schedule().ordinal()).schedule_seed(options.scheduleSeed())
                    .shared_limit(options.sharedLimit()).threads(options.threads())
                    .compute_capability(options.computeCapability());
            Native.check(op, dk_emu_set_options(Native.context(op, Device.EMU), o));
        }
    }
}
