package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

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
            LayerNorm ln = LayerNorm.of(9, DType.F32, d, 1e-5);
            assertArrayEquals(F.layerNorm(x, null, null, 1e-5).toFloatArray(), ln.forward(x).toFloatArray());
            assertArrayEquals(F.layerNormBackward(x, null, g, 1e-5, false).input().toFloatArray(),
                    ln.backward(x, g).input().toFloatArray());
            RMSNorm rn = RMSNorm.of(9, DType.F32, d, 1e-6);
            assertArrayEquals(F.rmsNorm(x, null, 1e-6).toFloatArray(), rn.forward(x).toFloatArray());
            Tensor w = Tensor.randn(new long[] {5, 9}, DType.F32, d, new Generator(3)), b = Tensor.randn(new long[] {5}, DType.F32, d, new Generator(4));
            Linear lin = new Linear(w, b);
            assertArrayEquals(F.linear(x, w, b).toFloatArray(), lin.forward(x).toFloatArray());
            assertArrayEquals(new long[] {4, 5}, lin.forward(x).shape());
        }
    }
}
