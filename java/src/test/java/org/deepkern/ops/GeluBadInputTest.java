package org.deepkern.ops;

import static org.junit.jupiter.api.Assertions.*;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Each bad call raises DeepKernException naming the argument; the JVM lives on. */
class GeluBadInputTest {
    private static void rejects(String argument, String expectedText, Executable call) {
        DeepKernException e = assertThrows(DeepKernException.class, call);
        assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains("'" + argument + "'"), "names " + argument + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(expectedText), "says " + expectedText + ": " + e.getMessage());
    }

    @Test
    void nullInput() {
        rejects("x", "null", () -> F.gelu(null));
        try (Tensor x = Tensor.zeros(DType.F32, Device.CPU, 3)) {
            rejects("out", "null", () -> F.gelu(x, GeluApproximation.NONE, null));
            rejects("approximate", "null", () -> F.gelu(x, null, x));
        }
    }

    @Test
    void closedTensor() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 3);
        x.close();
        rejects("x", "closed", () -> F.gelu(x));
        try (Tensor y = Tensor.zeros(DType.F32, Device.CPU, 3); Tensor out = Tensor.zeros(DType.F32, Device.CPU, 3)) {
            out.close();
            rejects("out", "closed", () -> F.gelu(y, GeluApproximation.TANH, out));
        }
    }

    @Test
    void integerDtype() {
        try (Tensor x = Tensor.zeros(DType.I32, Device.CPU, 3)) {
            rejects("x", "floating dtype", () -> F.gelu(x));
        }
    }

    @Test
    void wrongOutputShapeAndDtype() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(DType.F32, Device.CPU, 2, 3);
            rejects("out", "expected shape [2, 3]", () -> F.gelu(x, GeluApproximation.NONE, Tensor.zeros(DType.F32, Device.CPU, 3, 2)));
            rejects("out", "expected dtype f32", () -> F.gelu(x, GeluApproximation.NONE, Tensor.zeros(DType.F16, Device.CPU, 2, 3)));
        }
    }

    @Test
    void tensorsOnDifferentDevices() {
        Device other = DeepKern.devices().stream().filter(d -> !d.equals(Device.CPU)).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(other != null, "needs a second device (emu or cuda)");
        try (Tensor x = Tensor.zeros(DType.F32, Device.CPU, 3); Tensor out = Tensor.zeros(DType.F32, other, 3)) {
            rejects("out", "tensor is on " + other, () -> F.gelu(x, GeluApproximation.NONE, out));
        }
    }

    @Test
    void theJvmSurvivesAndTheNextCallWorks() {
        for (int i = 0; i < 100; i++) {
            assertThrows(DeepKernException.class, () -> F.gelu(null));
        }
        try (Tensor x = Tensor.of(Device.CPU, new float[] {0f}); Tensor y = F.gelu(x)) {
            assertEquals(0f, y.toFloatArray()[0]);
        }
    }
}
