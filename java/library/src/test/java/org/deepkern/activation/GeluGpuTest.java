package org.deepkern.activation;

import org.deepkern.testing.GeluChecks;
import org.deepkern.ops.GeluApproximation;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** GELU on every cuda device; skipped where there is none. */
@Tag("gpu")
class GeluGpuTest {
    @Test
    void matchesDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        for (Device d : TestDevices.cuda())
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16})
                for (GeluApproximation a : GeluApproximation.values())
                    for (long n : GeluChecks.SIZES) GeluChecks.check(d, t, a, n);
    }
}
