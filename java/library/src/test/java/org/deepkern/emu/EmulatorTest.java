package org.deepkern.emu;

import static org.junit.jupiter.api.Assertions.*;
import static org.deepkern.testing.EmuSchedules.assumeEmu;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Emulator.Schedule;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The emulator through the JVM: its options, and a launch the emulator refuses failing as a
 * {@link Status#KERNEL} exception that names the kernel and its launch, with the JVM living on.
 * The runtime's self-test kernels and planted bugs are test-only native code, run by
 * native/tests/emu_test.cpp in every schedule order.
 */
class EmulatorTest {
    private static final Device EMU = Device.EMU;
    private Emulator.Options defaults;

    @BeforeEach
    void requireEmu() {
        assumeEmu();
        defaults = Emulator.options();
    }

    @AfterEach
    void restore() {
        if (defaults != null) Emulator.setOptions(defaults);
    }

    @Test
    void aRefusedLaunchFailsTheCallAndTheJvmLivesOn() {
        try (Scope scope = Scope.open()) {
            Tensor q = Tensor.randn(new long[] {1, 2, 16, 32}, DType.F32, EMU, new Generator(1));
            for (Schedule s : Schedule.values()) {
                Emulator.setOptions(new Emulator.Options(s, 9, 64, defaults.threads(), 86));
                DeepKernException e = assertThrows(DeepKernException.class, () -> F.scaledDotProductAttention(q, q, q));
                assertEquals(Status.KERNEL, e.status(), e.getMessage());
                String m = e.getMessage();
                assertTrue(m.startsWith("F.scaledDotProductAttention: kernel 'attention_forward'") && m.contains("block (")
                        && m.contains("limit"), m);
            }
            Emulator.setOptions(defaults);
            try (Tensor cpu = q.to(Device.CPU); Tensor ref = F.scaledDotProductAttention(cpu, cpu, cpu);
                 Tensor out = F.scaledDotProductAttention(q, q, q)) {
                float[] want = ref.toFloatArray(), got = out.toFloatArray();
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, "element " + i);
            }
        }
    }

    /** The GPU DEEPKERN_EMU_GPU names for new emu contexts (the build's second test pass: 90), else sm_86. */
    private static int defaultGpu() {
        String gpu = System.getenv("DEEPKERN_EMU_GPU");
        return gpu == null || gpu.isEmpty() ? 86 : Integer.parseInt(gpu);
    }

    @Test
    void theDefaultSharedLimitIsTheSmallestOfTheGpusLimits() {
        assertEquals(defaultGpu() == 90 ? Emulator.SHARED_LIMIT_SM90 : Emulator.SHARED_LIMIT_SM86, defaults.sharedLimit());
        assertEquals(99 * 1024, Emulator.SHARED_LIMIT_SM86);
        assertEquals(163 * 1024, Emulator.SHARED_LIMIT_SM80);
        assertEquals(227 * 1024, Emulator.SHARED_LIMIT_SM90);
    }

    @Test
    void optionsRoundTrip() {
        Emulator.Options o = new Emulator.Options(Schedule.RANDOM, 77, 48 * 1024, 1, 89);
        Emulator.setOptions(o);
        assertEquals(o, Emulator.options());
        Emulator.Options hopper = defaults.withGpu(90);
        assertEquals(Emulator.SHARED_LIMIT_SM90, hopper.sharedLimit());
        Emulator.setOptions(hopper);
        assertEquals(hopper, Emulator.options());
    }

    @Test
    void theDefaultGpuIsAnSm86AndOthersAreRefused() {
        assertEquals(defaultGpu(), defaults.computeCapability());
        for (int cc : new int[] {0, 70, 87, 100}) {
            DeepKernException e = assertThrows(DeepKernException.class, () -> Emulator.setOptions(defaults.withGpu(cc)));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().startsWith("Emulator.setOptions: argument 'options.computeCapability': expected 80, "
                    + "86, 89 or 90, got " + cc), e.getMessage());
        }
    }

    @Test
    void nullOptionsAreRefused() {
        DeepKernException e = assertThrows(DeepKernException.class, () -> Emulator.setOptions(null));
        assertTrue(e.getMessage().startsWith("Emulator.setOptions: argument 'options'"), e.getMessage());
    }
}
