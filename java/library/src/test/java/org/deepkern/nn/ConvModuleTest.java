package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import org.junit.jupiter.api.Test;

/** Conv2d and ConvTranspose2d modules: their reported hyper-parameters and that forward is the F op. */
class ConvModuleTest {
    @Test
    void conv2dReportsAndForwards() {
        Device d = Device.CPU;
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.randn(new long[] {6, 2, 3, 5}, DType.F32, d, new Generator(1));  // K 6, C/g 2, 3 x 5
            Tensor b = Tensor.randn(new long[] {6}, DType.F32, d, new Generator(2));
            Conv2dParams p = Conv2dParams.defaults().withStride(2, 1).withPadding(1, 0, 2, 2).withDilation(1, 2).withGroups(2);
            Conv2d m = new Conv2d(w, b, p);
            assertArrayEquals(new int[] {3, 5}, m.kernel());
            assertArrayEquals(new int[] {2, 1}, m.stride());
            assertArrayEquals(new int[] {1, 0, 2, 2}, m.padding());
            assertArrayEquals(new int[] {1, 2}, m.dilation());
            assertEquals(6, m.outChannels());
            assertTrue(m.toString().contains("Conv2d"), m.toString());
            Tensor x = Tensor.randn(new long[] {2, 4, 9, 11}, DType.F32, d, new Generator(3));
            Tensor y = m.forward(x);
            assertArrayEquals(new long[] {2, 6, 4, 7}, y.shape());  // (9+1-3)/2+1 = 4, (11+4-9)/1+1 = 7
            assertArrayEquals(F.conv2d(x, w, b, p).toFloatArray(), y.toFloatArray());
        }
    }

    @Test
    void convTranspose2dReportsAndForwards() {
        Device d = Device.CPU;
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.randn(new long[] {4, 3, 3, 3}, DType.F32, d, new Generator(4));  // Cin 4, Cout/g 3
            Conv2dParams p = Conv2dParams.defaults().withStride(2).withPadding(1).withGroups(2).withOutputPadding(1, 0)
                    .withLayout(Conv2dParams.Layout.NCHW);
            ConvTranspose2d m = new ConvTranspose2d(w, null, p);
            assertArrayEquals(new int[] {3, 3}, m.kernel());
            assertArrayEquals(new int[] {2, 2}, m.stride());
            assertArrayEquals(new int[] {1, 1, 1, 1}, m.padding());
            assertArrayEquals(new int[] {1, 1}, m.dilation());
            assertArrayEquals(new int[] {1, 0}, m.outputPadding());
            assertEquals(6, m.outChannels());
            Tensor x = Tensor.randn(new long[] {1, 4, 5, 5}, DType.F32, d, new Generator(5));
            Tensor y = m.forward(x);
            assertArrayEquals(new long[] {1, 6, 10, 9}, y.shape());  // (5-1)*2 - 2 + 2 + op + 1
        }
    }
}
