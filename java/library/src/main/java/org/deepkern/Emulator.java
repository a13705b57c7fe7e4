package org.deepkern;

import java.util.Objects;
import org.deepkern.internal.Devices;

/**
 * The kernel emulator (device {@link Device#EMU}): the CUDA kernels run on the CPU, each thread
 * block on a worker thread, its threads as fibers, with strict checks (divergent barriers, bad
 * warp masks, shared memory out of bounds or over a GPU's limits, misaligned 16-byte accesses,
 * oversized blocks and grids) that fail the launch with a {@link DeepKernException} of status
 * {@link Status#KERNEL} naming kernel, block and thread.
 */
public final class Emulator {
    private Emulator() {}

    /** Shared memory per block on sm_80 (A100): 163 KB, for {@link Options#sharedLimit}. */
    public static final long SHARED_LIMIT_SM80 = Devices.SHARED_LIMIT_SM80;
    /** Shared memory per block on sm_86 and sm_89: 99 KB, the default. */
    public static final long SHARED_LIMIT_SM86 = Devices.SHARED_LIMIT_SM86;
    /** Shared memory per block on sm_90 (H100, H200): 227 KB. */
    public static final long SHARED_LIMIT_SM90 = Devices.SHARED_LIMIT_SM90;

    /** The order the threads of a block run in between two barriers. */
    public enum Schedule {
        /** Thread 0 first. */
        FORWARD,
        /** The last thread first. */
        REVERSE,
        /** A permutation drawn from the schedule seed. */
        RANDOM
    }

    /**
     * How the emulator runs later launches. A fresh emu device starts with FORWARD, seed 0,
     * {@link #SHARED_LIMIT_SM86} bytes of shared memory (the smallest per-block limit of the GPUs
     * the cuda backend runs on), every worker, and compute capability 86.
     *
     * @param schedule thread order between barriers; a result that changes with it reveals a race
     * @param scheduleSeed the seed of the RANDOM order
     * @param sharedLimit bytes of shared memory a block may use, static plus dynamic; &gt;= 0
     * @param threads OS threads running blocks; 0 = every worker; &gt;= 0
     * @param computeCapability the GPU emulated, major * 10 + minor: 80, 86, 89 or 90. Ops choose
     *        their kernels for it as on that GPU (90: the Hopper kernels, on wgmma and TMA), and
     *        Hopper's instructions fail a launch below 90
     */
    public record Options(Schedule schedule, long scheduleSeed, long sharedLimit, int threads, int computeCapability) {
        /**
         * Checks that a schedule is given; the numbers are checked by {@link #setOptions}.
         *
         * @param schedule thread order between barriers
         * @param scheduleSeed the seed of the RANDOM order
         * @param sharedLimit bytes of shared memory a block may use
         * @param threads OS threads running blocks; 0 = every worker
         * @param computeCapability the GPU emulated: 80, 86, 89 or 90
         * @throws NullPointerException if schedule is null
         */
        public Options {
            Objects.requireNonNull(schedule, "schedule");
        }

        /**
         * @param s the thread order
         * @param seed the seed of the RANDOM order
         * @return these options with another schedule
         */
        public Options withSchedule(Schedule s, long seed) {
            return new Options(s, seed, sharedLimit, threads, computeCapability);
        }

        /**
         * @param cc the GPU to emulate: 80, 86, 89 or 90 (checked by {@link #setOptions})
         * @return these options for that GPU, with its shared memory per block as the limit
         */
        public Options withGpu(int cc) {
            long limit = cc == 90 ? SHARED_LIMIT_SM90 : cc == 80 ? SHARED_LIMIT_SM80 : SHARED_LIMIT_SM86;
            return new Options(schedule, scheduleSeed, limit, threads, cc);
        }
    }

    /**
     * @return the options later launches run with
     * @throws DeepKernException with {@link Status#UNAVAILABLE} if this build has no emulator
     */
    public static Options options() {
        return Devices.emulatorOptions("Emulator.options");
    }

    /**
     * Sets the options of every later launch on emu, on every thread; launches already running
     * keep theirs.
     *
     * @param options the new options
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if options is null,
     *         sharedLimit or threads is negative, or computeCapability is not 80, 86, 89 or 90;
     *         {@link Status#UNAVAILABLE} if this build has no emulator
     */
    public static void setOptions(Options options) {
        if (options == null) throw DeepKernException.invalidArgument("Emulator.setOptions", "options",
                "expected options, got null");
        Devices.setEmulatorOptions("Emulator.setOptions", options);
    }
}
