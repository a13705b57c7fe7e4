package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.junit.jupiter.api.Test;

/** The norm and linear modules are their F ops with the module's parameters. */
class NormModuleTest {
    @Test
    void modulesMatchTheirOps() {
        try (Scope s = Scope.open()) {
            Device d = Device.CPU;
            Tensor x = Tensor.randn(new long[] {4, 9}, DType.F32, d, new Generator(1)), g = Tensor.randn(new long[] {4, 9}, DType.F32, d, new Generator(2));
            try (LayerNorm ln = new LayerNorm(9, 1e-5, DType.F32, d); RMSNorm rn = new RMSNorm(9, 1e-6, DType.F32, d)) {
                assertArrayEquals(F.layerNorm(x, null, null, 1e-5).toFloatArray(), ln.forward(x).toFloatArray());
                assertArrayEquals(F.layerNormBackward(x, null, g, 1e-5, false).input().toFloatArray(),
                        ln.backward(x, g).input().toFloatArray());
                assertArrayEquals(F.rmsNorm(x, null, 1e-6).toFloatArray(), rn.forward(x).toFloatArray());
            }
            Tensor w = Tensor.randn(new long[] {5, 9}, DType.F32, d, new Generator(3)), b = Tensor.randn(new long[] {5}, DType.F32, d, new Generator(4));
            Linear lin = new Linear(w, b);
            assertArrayEquals(F.linear(x, w, b).toFloatArray(), lin.forward(x).toFloatArray());
            assertArrayEquals(new long[] {4, 5}, lin.forward(x).shape());
        }
    }

    /** LayerNorm's eps is 1e-5 and RMSNorm's the input dtype's machine epsilon when left out, as in torch. */
    @Test
    void defaultEpsIsTorchs() {
        Device d = Device.CPU;
        try (Scope s = Scope.open(); LayerNorm ln = new LayerNorm(9); RMSNorm rms = new RMSNorm(9);
             RMSNorm rmsBf16 = new RMSNorm(9, null, true, DType.BF16, d)) {
            Tensor x = Tensor.randn(new long[] {4, 9}, DType.F32, d, new Generator(5)).mul(1e-3), xb = x.to(DType.BF16);
            assertArrayEquals(F.layerNorm(x, ln.weight(), ln.bias(), 1e-5).toFloatArray(), ln.forward(x).toFloatArray());
            assertArrayEquals(F.rmsNorm(x, rms.weight(), 0x1p-23).toFloatArray(), rms.forward(x).toFloatArray());
            assertArrayEquals(F.rmsNorm(xb, rmsBf16.weight(), 0x1p-7).toFloatArray(), rmsBf16.forward(xb).toFloatArray());
            assertEquals("RMSNorm((9,), eps=None, elementwise_affine=true)", rms.toString());
        }
    }
}
