package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.function.Supplier;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Emulator.Schedule;

/**
 * Race checks on emu: a kernel whose threads share memory gives the same result whatever order the
 * emulator runs a block's threads in between barriers, so a missing barrier shows as a difference.
 */
public final class EmuSchedules {
    private EmuSchedules() {}

    /** Skips the calling test where the emu backend is not built. */
    public static void assumeEmu() {
        assumeTrue(DeepKern.backend(Device.Type.EMU).available(), "emu not built");
    }

    /**
     * Runs run once under every schedule (the shuffled one seeded with seed) and asserts the outputs
     * bit-identical; returns the first. The emulator's options are restored afterwards.
     */
    public static float[] sameInEveryOrder(String what, long seed, Supplier<float[]> run) {
        return sameInEveryOrder(what, seed, 1, 0, () -> new float[][] {run.get()})[0];
    }

    /**
     * The same for several outputs, of which the first exact are compared bit for bit and the rest
     * to an absolute tolerance: for outputs summed by atomics, whose order follows the schedule.
     */
    public static float[][] sameInEveryOrder(String what, long seed, int exact, float tolerance, Supplier<float[][]> run) {
        assumeEmu();
        Emulator.Options defaults = Emulator.options();
        try {
            float[][] first = null;
            for (Schedule s : Schedule.values()) {
                Emulator.setOptions(defaults.withSchedule(s, seed));
                float[][] out = run.get();
                if (first == null) {
                    first = out;
                    continue;
                }
                for (int i = 0; i < out.length; i++) {
                    String says = what + ": schedule " + s + " changed " + (out.length == 1 ? "the result" : "output " + i);
                    if (i < exact) assertArrayEquals(first[i], out[i], says);
                    else assertArrayEquals(first[i], out[i], tolerance, says);
                }
            }
            return first;
        } finally {
            Emulator.setOptions(defaults);
        }
    }
}
