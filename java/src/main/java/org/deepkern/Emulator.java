package org.deepkern;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import java.util.Objects;
import org.deepkern.bindings.dk_emu_options;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Native;

/**
 * The kernel emulator (device {@link Device#EMU}): the CUDA kernels run on the CPU, each thread
 * block on a worker thread, its threads as fibers, with strict checks (divergent barriers, bad
 * warp masks, out-of-bounds dynamic shared memory, oversized blocks) that fail the launch with a
 * {@link DeepKernException} of status {@link Status#KERNEL} naming kernel, block and thread.
 */
public final class Emulator {
    private Emulator() {}

    /** The order the threads of a block run in between two barriers. */
    public enum Schedule {
        FORWARD, REVERSE, RANDOM
    }

    /**
     * @param schedule thread order between barriers; a result that changes with it reveals a race
     * @param scheduleSeed the seed of the RANDOM order
     * @param sharedLimit bytes of shared memory a block may use
     * @param threads OS threads running blocks; 0 = every worker
     */
    public record Options(Schedule schedule, long scheduleSeed, long sharedLimit, int threads) {
        public Options {
            Objects.requireNonNull(schedule, "schedule");
        }

        public Options withSchedule(Schedule s, long seed) {
            return new Options(s, seed, sharedLimit, threads);
        }
    }

    public static Options options() {
        try (dk_emu_options o = new dk_emu_options()) {
            check(dk_emu_get_options(Native.context(Device.EMU), o));
            return new Options(Schedule.values()[o.schedule()], o.schedule_seed(), o.shared_limit(), o.threads());
        }
    }

    /** Sets the options of every later launch on emu. */
    public static void setOptions(Options options) {
        try (dk_emu_options o = new dk_emu_options()) {
            o.schedule(options.schedule().ordinal()).schedule_seed(options.scheduleSeed())
                    .shared_limit(options.sharedLimit()).threads(options.threads());
            check(dk_emu_set_options(Native.context(Device.EMU), o));
        }
    }

    /**
     * Runs one of the kernels that test the kernel runtime itself (kernels/selftest/selftest.cu lists them
     * with their inputs) on the device of {@code out}: emu or cuda.
     */
    public static void selftest(String name, Tensor a, Tensor b, Tensor out) {
        Objects.requireNonNull(name, "name");
        dk_tensor bh = b == null ? null : b.nativeHandle();
        check(dk_selftest(out.nativeContext(), name, a.nativeHandle(), bh, out.nativeHandle()));
    }
}
