package org.deepkern.activation;

import org.deepkern.testing.ActivationCase;
import org.deepkern.testing.ActivationChecks;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Every activation and gated unit on every cuda device, every dtype and size; skipped where there is none. */
@Tag("gpu")
class ActivationGpuTest {
    @Test
    void activationsMatchDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        for (Device d : TestDevices.cuda())
            for (DType t : ActivationChecks.DTYPES)
                for (ActivationCase c : ActivationCase.ALL)
                    for (long n : ActivationChecks.SIZES) {
                        ActivationChecks.forward(d, t, c, n);
                        ActivationChecks.backward(d, t, c, n);
                        ActivationChecks.withBias(d, t, c, n);
                    }
    }

    @Test
    void gatedUnitsMatchDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        for (Device d : TestDevices.cuda())
            for (DType t : ActivationChecks.DTYPES)
                for (ActivationCase c : ActivationCase.gates())
                    for (long n : ActivationChecks.SIZES) ActivationChecks.gated(d, t, c, n);
    }
}
