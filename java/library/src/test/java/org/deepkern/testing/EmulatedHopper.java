package org.deepkern.testing;

import org.deepkern.Emulator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs each test of a class with the emulator standing for an sm_90 (compute capability 90 and its
 * 227 KB of shared memory: the Hopper kernels are chosen), skipped where emu is not built; the
 * emulator's options are restored afterwards. Use with {@code @ExtendWith(EmulatedHopper.class)}.
 */
public final class EmulatedHopper implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(EmulatedHopper.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        EmuSchedules.assumeEmu();
        Emulator.Options defaults = Emulator.options();
        context.getStore(NS).put("defaults", defaults);
        Emulator.setOptions(defaults.withGpu(90));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Emulator.Options defaults = context.getStore(NS).get("defaults", Emulator.Options.class);
        if (defaults != null) Emulator.setOptions(defaults);
    }
}
