package org.deepkern.tensor;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
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
    void nullsOverflowsAndClosedTensorsAreNamed() {
        assertRejects("device", "null", () -> Tensor.zeros(DType.F32, null, 3));
        assertRejects("dtype", "null", () -> Tensor.empty(null, Device.CPU, 3));
        assertRejects("shape", "null", () -> Tensor.empty(DType.F32, Device.CPU, (long[]) null));
        assertRejects("values", "null", () -> Tensor.of(Device.CPU, (float[]) null));
        assertRejects("shape", "overflows 64-bit byte counts", () -> Tensor.empty(DType.F32, Device.CPU, 1L << 62));
        assertRejects("shape", "overflows", () -> Tensor.empty(DType.BF16, Device.CPU, Long.MAX_VALUE, 2));
        try (Tensor t = Tensor.zeros(DType.F32, Device.CPU, 2, 3)) {
            assertRejects("shape", "expected 6 elements", () -> t.reshape(1L << 40, 1L << 40, 0, -1));
            assertRejects("shape", "expected 6 elements", () -> t.reshape(Long.MAX_VALUE, 2));
            assertRejects("dim", "expected -2..1", () -> t.shape(2));
            assertRejects("dim", "expected -2..1", () -> t.shape(-3));
            assertRejects("device", "null", () -> t.to((Device) null));
            assertRejects("dtype", "null", () -> t.to((DType) null));
            assertRejects("dims", "permutation", () -> t.permute(0, 0));
            assertRejects("length", "expected 0..3", () -> t.narrow(1, 0, 4));
            assertRejects("start", "expected 0..1", () -> t.narrow(1, -1, 2));
            t.close();
            assertRejects("this", "closed", () -> t.toFloatArray());
            assertRejects("this", "closed", () -> t.reshape(6));
        }
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
