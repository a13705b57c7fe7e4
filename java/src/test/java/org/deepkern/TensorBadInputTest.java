package org.deepkern;

import static org.junit.jupiter.api.Assertions.*;
import static org.deepkern.testing.BadInput.assertRejects;

import org.junit.jupiter.api.Test;

/** Bad input to the tensor basics (randn, cast, the C API's argument checks): DeepKernException naming the argument. */
class TensorBadInputTest {
    @Test
    void randnNeedsAFloatingDtypeAndAValidShape() {
        for (Device d : DeepKern.devices()) {
            assertRejects("dtype", "floating dtype", () -> Tensor.randn(d, DType.I32, 1, 4));
            assertRejects("shape", ">= 0", () -> Tensor.randn(d, DType.F32, 1, 2, -3));
        }
    }

    @Test
    void shapesThatOverflowAreRejectedBeforeAllocating() {
        assertRejects("shape", "overflows", () -> Tensor.zeros(DType.F32, Device.CPU, 1L << 40, 1L << 40));
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
