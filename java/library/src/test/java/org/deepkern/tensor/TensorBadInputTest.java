package org.deepkern.tensor;

import java.util.List;

import org.deepkern.testing.Memory;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import static org.junit.jupiter.api.Assertions.*;
import static org.deepkern.testing.BadInput.assertRejects;

import org.junit.jupiter.api.Test;

/** Bad input to the tensor basics (randn, cast, the C API's argument checks): DeepKernException naming the argument. */
class TensorBadInputTest {
    @Test
    void randnNeedsAFloatingDtypeAndAValidShape() {
        for (Device d : DeepKern.devices()) {
            assertRejects("dtype", "floating dtype", () -> Tensor.randn(new long[] {4}, DType.I32, d, new Generator(1)));
            assertRejects("shape", ">= 0", () -> Tensor.randn(new long[] {2, -3}, DType.F32, d, new Generator(1)));
        }
    }

    @Test
    void shapesThatOverflowAreRejectedBeforeAllocating() {
        assertRejects("shape", "overflows", () -> Tensor.zeros(new long[] {1L << 40, 1L << 40}, DType.F32, Device.CPU));
    }

    @Test
    void nullsOverflowsAndClosedTensorsAreNamed() {
        assertRejects("device", "null", () -> Tensor.zeros(new long[] {3}, DType.F32, null));
        assertRejects("dtype", "null", () -> Tensor.empty(new long[] {3}, null, Device.CPU));
        assertRejects("shape", "null", () -> Tensor.empty((long[]) null, DType.F32, Device.CPU));
        assertRejects("values", "null", () -> Tensor.of((float[]) null, new long[0], Device.CPU));
        assertRejects("shape", "overflows 64-bit byte counts", () -> Tensor.empty(new long[] {1L << 62}, DType.F32, Device.CPU));
        assertRejects("shape", "overflows", () -> Tensor.empty(new long[] {Long.MAX_VALUE, 2}, DType.BF16, Device.CPU));
        try (Tensor t = Tensor.zeros(new long[] {2, 3}, DType.F32, Device.CPU)) {
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

    /** The views and what joins or copies them: each bad argument named with the call. */
    @Test
    void viewsNameTheirArguments() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.zeros(new long[] {2, 3}, DType.F32, Device.CPU);
            BadInput.assertRejects("dim0", "Tensor.transpose: ", () -> t.transpose(2, 0));
            BadInput.assertRejects("dim1", "Tensor.transpose: ", () -> t.transpose(0, -3));
            BadInput.assertRejects("sizes", "Tensor.expand: ", () -> t.expand(3));
            BadInput.assertRejects("sizes", "Tensor.expand: ", () -> t.expand(4, 3));
            BadInput.assertRejects("sizes", "Tensor.expand: ", () -> t.expand((long[]) null));
            BadInput.assertRejects("dim", "Tensor.unsqueeze: ", () -> t.unsqueeze(3));
            BadInput.assertRejects("dim", "Tensor.squeeze: ", () -> t.squeeze(-3));
            BadInput.assertRejects("splitSize", "Tensor.split: ", () -> t.split(0, 1));
            BadInput.assertRejects("dim", "Tensor.split: ", () -> t.split(1, 2));
            BadInput.assertRejects("chunks", "Tensor.chunk: ", () -> t.chunk(0, 0));
            BadInput.assertRejects("this", "Tensor.view: ", () -> t.transpose(0, 1).view(6));
            BadInput.assertRejects("shape", "Tensor.view: ", () -> t.view(4, -1));
            BadInput.assertRejects("tensors", "Tensor.cat: ", () -> Tensor.cat(List.of(), 0));
            BadInput.assertRejects("tensors", "Tensor.cat: ", () -> Tensor.cat(null, 0));
            BadInput.assertRejects("tensors[1]", "Tensor.cat: ", () -> Tensor.cat(List.of(t, t.to(DType.BF16)), 0));
            BadInput.assertRejects("tensors[1]", "Tensor.stack: ", () -> Tensor.stack(List.of(t, t.transpose(0, 1)), 0));
            BadInput.assertRejects("dim", "Tensor.stack: ", () -> Tensor.stack(List.of(t, t), 3));
            BadInput.assertRejects("src", "Tensor.copyFrom: ", () -> t.copyFrom(Tensor.zeros(new long[] {3, 2}, DType.F32, Device.CPU)));
            BadInput.assertRejects("src", "Tensor.copyFrom: ", () -> t.copyFrom(null));
            // a dtype change converts straight into this tensor: the same names in its errors
            BadInput.assertRejects("src", "Tensor.copyFrom: ", () -> t.copyFrom(Tensor.zeros(new long[] {3, 2}, DType.BF16, Device.CPU)));
        }
    }

    @Test
    void aFailedCallLeaksNothingAndTheNextCallWorks() {
        long inUse = Memory.settledInUse(Device.CPU);
        for (int i = 0; i < 50; i++) assertThrows(DeepKernException.class, () -> Tensor.randn(new long[] {3}, DType.I64, Device.CPU, new Generator(0)));
        assertEquals(inUse, DeepKern.memoryStats(Device.CPU).inUse(), "the failed calls' outputs were released");
        try (Tensor t = Tensor.randn(new long[] {3}, DType.F32, Device.CPU, new Generator(0))) {
            assertEquals(3, t.toFloatArray().length);
        }
    }
}
