package org.deepkern.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Tensor.toString against what Python's torch prints for the same tensors (repr under the default
 * print options), written out by hand from torch/_tensor_str.py's rules: fixed or scientific
 * notation from the nonzero finite values, common width, 80-column wrapping, summarization past
 * 1000 elements, and the device / dtype / size suffixes.
 */
class TensorPrintTest {
    static Tensor f32(float... v) {
        return Tensor.of(v, new long[] {v.length}, Device.CPU);
    }

    static String lines(String... l) {
        return String.join("\n", l);
    }

    @Test
    void fixedAndIntegralFloats() {
        try (Scope s = Scope.open()) {
            assertEquals(lines("tensor([[1., 2.],", "        [3., 4.]])"), Tensor.of(new float[] {1, 2, 3, 4}, new long[] {2, 2}, Device.CPU).toString());
            assertEquals("tensor([1.5000, 2.2500])", f32(1.5f, 2.25f).toString());
            assertEquals("tensor([-1.5000,  0.2500])", f32(-1.5f, 0.25f).toString());
            assertEquals("tensor([0.3333, 0.6667])", f32(1f / 3, 2f / 3).toString());
            assertEquals("tensor([1., inf, nan])", f32(1, Float.POSITIVE_INFINITY, Float.NaN).toString());
            assertEquals("tensor([-0.])", f32(-0f).toString());
            assertEquals("tensor([0., 0.])", f32(0, 0).toString());
            assertEquals("tensor(3.5000)", Tensor.full(new long[0], 3.5, DType.F32, Device.CPU).toString());
            assertEquals("tensor(2.)", Tensor.full(new long[0], 2, DType.F32, Device.CPU).toString());
        }
    }

    @Test
    void scientificNotation() {
        try (Scope s = Scope.open()) {
            assertEquals("tensor([1.0000e-05, 1.0000e+00])", f32(1e-5f, 1).toString());
            assertEquals("tensor([1.0000e+00, 2.0000e+03])", f32(1, 2000).toString());  // integral, but a ratio past 1000
            assertEquals("tensor([1.5000e+00, 1.0000e+09])", f32(1.5f, 1e9f).toString());
            assertEquals("tensor([ 0.0000e+00, -2.5000e-01,  1.2346e+05])", f32(0, -0.25f, 123456f).toString());
        }
    }

    @Test
    void integers() {
        try (Scope s = Scope.open()) {
            assertEquals("tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])", Tensor.arange(0, 10, 1, DType.I64, Device.CPU).toString());
            assertEquals("tensor([-3, -2, -1,  0,  1,  2])", Tensor.arange(-3, 3, 1, DType.I64, Device.CPU).toString());
            assertEquals("tensor([7, 8], dtype=torch.int32)", Tensor.arange(7, 9, 1, DType.I32, Device.CPU).toString());
        }
    }

    @Test
    void wrapsAt80Columns() {
        try (Scope s = Scope.open()) {
            assertEquals(lines(
                    "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,",
                    "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,",
                    "        28., 29.])"), Tensor.arange(0.0, 30.0, 1.0, DType.F32, Device.CPU).toString());
            // a suffix that would pass column 80 goes on a line of its own
            assertEquals(lines(
                    "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],",
                    "       dtype=torch.bfloat16)"), Tensor.arange(0.0, 14.0, 1.0, DType.BF16, Device.CPU).toString());
        }
    }

    @Test
    void summarizesPast1000Elements() {
        try (Scope s = Scope.open()) {
            assertEquals(lines("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,",
                    "        1.9990e+03])"), Tensor.arange(0.0, 2000.0, 1.0, DType.F32, Device.CPU).toString());
            assertEquals("tensor([   0,    1,    2,  ...,  998,  999, 1000])", Tensor.arange(0, 1001, 1, DType.I64, Device.CPU).toString());
            String row = "[0., 0., 0.,  ..., 0., 0., 0.]";
            assertEquals(lines("tensor([" + row + ",", "        " + row + ",", "        " + row + ",", "        ...,",
                    "        " + row + ",", "        " + row + ",", "        " + row + "])"),
                    Tensor.zeros(new long[] {100, 100}, DType.F32, Device.CPU).toString());
            // 2 x 3 x 200: only the last dim is long enough to cut
            String r3 = "[1., 1., 1.,  ..., 1., 1., 1.]";
            assertEquals(lines("tensor([[" + r3 + ",", "         " + r3 + ",", "         " + r3 + "],", "",
                    "        [" + r3 + ",", "         " + r3 + ",", "         " + r3 + "]])"),
                    Tensor.ones(new long[] {2, 3, 200}, DType.F32, Device.CPU).toString());
        }
    }

    @Test
    void nestingAndViews() {
        try (Scope s = Scope.open()) {
            assertEquals(lines("tensor([[[0., 0.],", "         [0., 0.]],", "", "        [[0., 0.],", "         [0., 0.]]])"),
                    Tensor.zeros(new long[] {2, 2, 2}, DType.F32, Device.CPU).toString());
            Tensor m = Tensor.of(new float[] {1, 2, 3, 4}, new long[] {2, 2}, Device.CPU);
            assertEquals(lines("tensor([[1., 3.],", "        [2., 4.]])"), m.transpose(0, 1).toString());
        }
    }

    @Test
    void emptyTensorsNameTheirSizeAndDtype() {
        try (Scope s = Scope.open()) {
            assertEquals("tensor([])", Tensor.zeros(new long[] {0}, DType.F32, Device.CPU).toString());
            assertEquals("tensor([], size=(2, 0))", Tensor.zeros(new long[] {2, 0}, DType.F32, Device.CPU).toString());
            assertEquals("tensor([], dtype=torch.int64)", Tensor.zeros(new long[] {0}, DType.I64, Device.CPU).toString());
            assertEquals("tensor([], size=(0, 3), dtype=torch.float16)", Tensor.zeros(new long[] {0, 3}, DType.F16, Device.CPU).toString());
        }
    }

    @Test
    void devicesOtherThanCpuAreNamed() {
        assumeTrue(DeepKern.devices().contains(Device.EMU), "emu not built");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2}, new long[] {2}, Device.EMU);
            assertEquals("tensor([1., 2.], device='emu')", x.toString());
            assertEquals("tensor([1., 2.], device='emu', dtype=torch.float16)", x.to(DType.F16).toString());
        }
    }

    @Test
    void aClosedTensorIsNotRead() {
        Tensor t = Tensor.zeros(new long[] {2, 3}, DType.F32, Device.CPU);
        t.close();
        assertEquals("Tensor[f32 [2, 3] on cpu, closed]", t.toString());
    }
}
