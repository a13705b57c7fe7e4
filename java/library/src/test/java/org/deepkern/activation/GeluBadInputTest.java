package org.deepkern.activation;

import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import static org.junit.jupiter.api.Assertions.*;
import static org.deepkern.testing.BadInput.assertRejects;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.api.Test;

/** Each bad call raises DeepKernException naming the argument; the JVM lives on. */
class GeluBadInputTest {
    @Test
    void nullInput() {
        assertRejects("x", "null", () -> F.gelu(null));
        try (Tensor x = Tensor.zeros(new long[] {3}, DType.F32, Device.CPU)) {
            assertRejects("out", "null", () -> F.gelu(x, GeluApproximation.NONE, null));
            assertRejects("approximate", "null", () -> F.gelu(x, null, x));
        }
    }

    @Test
    void closedTensor() {
        Tensor x = Tensor.zeros(new long[] {3}, DType.F32, Device.CPU);
        x.close();
        assertRejects("x", "closed", () -> F.gelu(x));
        try (Tensor y = Tensor.zeros(new long[] {3}, DType.F32, Device.CPU); Tensor out = Tensor.zeros(new long[] {3}, DType.F32, Device.CPU)) {
            out.close();
            assertRejects("out", "closed", () -> F.gelu(y, GeluApproximation.TANH, out));
        }
    }

    @Test
    void integerDtype() {
        try (Tensor x = Tensor.zeros(new long[] {3}, DType.I32, Device.CPU)) {
            assertRejects("x", "floating dtype", () -> F.gelu(x));
        }
    }

    @Test
    void wrongOutputShapeAndDtype() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {2, 3}, DType.F32, Device.CPU);
            assertRejects("out", "expected shape [2, 3]", () -> F.gelu(x, GeluApproximation.NONE, Tensor.zeros(new long[] {3, 2}, DType.F32, Device.CPU)));
            assertRejects("out", "expected dtype f32", () -> F.gelu(x, GeluApproximation.NONE, Tensor.zeros(new long[] {2, 3}, DType.F16, Device.CPU)));
        }
    }

    @Test
    void tensorsOnDifferentDevices() {
        Device other = DeepKern.devices().stream().filter(d -> !d.equals(Device.CPU)).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(other != null, "needs a second device (emu or cuda)");
        try (Tensor x = Tensor.zeros(new long[] {3}, DType.F32, Device.CPU); Tensor out = Tensor.zeros(new long[] {3}, DType.F32, other)) {
            assertRejects("out", "'x' is on cpu, 'out' on " + other + ": move one with to(device)",
                    () -> F.gelu(x, GeluApproximation.NONE, out));
        }
    }

    @Test
    void theJvmSurvivesAndTheNextCallWorks() {
        for (int i = 0; i < 100; i++) {
            assertThrows(DeepKernException.class, () -> F.gelu(null));
        }
        try (Tensor x = Tensor.of(new float[] {0f}, new long[0], Device.CPU); Tensor y = F.gelu(x)) {
            assertEquals(0f, y.toFloatArray()[0]);
        }
    }
}
