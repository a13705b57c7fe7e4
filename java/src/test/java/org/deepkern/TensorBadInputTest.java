package org.deepkern;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input to the tensor basics (randn, cast, the C API's argument checks): DeepKernException naming the argument. */
class TensorBadInputTest {
    private static void rejects(String argument, String expectedText, Executable call) {
        DeepKernException e = assertThrows(DeepKernException.class, call);
        assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains("'" + argument + "'"), "names " + argument + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(expectedText), "says " + expectedText + ": " + e.getMessage());
    }

    @Test
    void randnNeedsAFloatingDtypeAndAValidShape() {
        for (Device d : DeepKern.devices()) {
            rejects("out", "floating dtype", () -> Tensor.randn(d, DType.I32, 1, 4));
            rejects("shape", ">= 0", () -> Tensor.randn(d, DType.F32, 1, 2, -3));
        }
    }

    @Test
    void shapesThatOverflowAreRejectedBeforeAllocating() {
        rejects("shape", "overflows", () -> Tensor.zeros(DType.F32, Device.CPU, 1L << 40, 1L << 40));
    }

    @Test
    void aFailedCallLeaksNothingAndTheNextCallWorks() {
        long inUse = DeepKern.memoryStats(Device.CPU).inUse();
        for (int i = 0; i < 50; i++) assertThrows(DeepKernException.class, () -> Tensor.randn(Device.CPU, DType.I64, 0, 3));
        assertEquals(inUse, DeepKern.memoryStats(Device.CPU).inUse(), "the failed calls' outputs were released");
        try (Tensor t = Tensor.randn(Device.CPU, DType.F32, 0, 3)) {
            assertEquals(3, t.toFloatArray().length);
        }
    }
}
