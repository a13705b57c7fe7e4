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

    /** LayerNorm's eps is 1e-5 and RMSNorm's the f32 epsilon whatever the dtype when left out, as torch's rms_norm. */
    @Test
    void defaultEpsIsTorchs() {
        Device d = Device.CPU;
        try (Scope s = Scope.open(); LayerNorm ln = new LayerNorm(9); RMSNorm rms = new RMSNorm(9);
             RMSNorm rmsBf16 = new RMSNorm(9, null, true, DType.BF16, d)) {
            Tensor x = Tensor.randn(new long[] {4, 9}, DType.F32, d, new Generator(5)).mul(1e-3), xb = x.to(DType.BF16);
            assertArrayEquals(F.layerNorm(x, ln.weight(), ln.bias(), 1e-5).toFloatArray(), ln.forward(x).toFloatArray());
            assertArrayEquals(F.rmsNorm(x, rms.weight(), 0x1p-23).toFloatArray(), rms.forward(x).toFloatArray());
            assertArrayEquals(F.rmsNorm(xb, rmsBf16.weight(), 0x1p-23).toFloatArray(), rmsBf16.forward(xb).toFloatArray());
            assertEquals("RMSNorm((9,), eps=None, elementwise_affine=true)", rms.toString());
        }
    }

    /** LayerNorm over a normalized shape of two dims: F's op over those dims, parameters of that shape. */
    @Test
    void layerNormOverTrailingDims() {
        Device d = Device.CPU;
        long[] ns = {3, 4};
        try (Scope s = Scope.open(); LayerNorm ln = new LayerNorm(ns, 1e-5, true, true, DType.F32, d)) {
            ln.weight().copyFrom(Tensor.randn(ns, DType.F32, d, new Generator(6)));
            Tensor x = Tensor.randn(new long[] {2, 3, 4}, DType.F32, d, new Generator(7));
            Tensor g = Tensor.randn(new long[] {2, 3, 4}, DType.F32, d, new Generator(8));
            assertArrayEquals(ns, ln.namedParameters().get("bias").shape());
            assertArrayEquals(F.layerNorm(x, ns, ln.weight(), ln.bias(), 1e-5).toFloatArray(), ln.forward(x).toFloatArray());
            assertArrayEquals(F.layerNormBackward(x, ns, ln.weight(), g, 1e-5, true).weight().toFloatArray(),
                    ln.backward(x, g).weight().toFloatArray());
            assertEquals("LayerNorm((3, 4), eps=1.0E-5, elementwise_affine=true)", ln.toString());
        }
    }
}
