package org.deepkern.norm;

import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The kernels of this family that share memory between threads (the norms' weight/bias partials,
 * the GEMM tiles, the tensor-core fragments) give bit-identical results whatever order the emulator
 * runs a block's threads in between barriers: a missing barrier would show as a difference.
 */
class NormEmuScheduleTest {
    private static float[] concat(Tensor... ts) {
        int n = 0;
        float[][] parts = new float[ts.length][];
        for (int i = 0; i < ts.length; i++) n += (parts[i] = ts[i].toFloatArray()).length;
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @Test
    void normBackwardAndSoftmax() {
        Device emu = Device.EMU;
        int rows = 130, cols = 67;
        sameInEveryOrder("layer_norm backward", 4321, () -> {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(normal(rows * cols, 1, 0.5, 2), new long[] {rows, cols}, emu);
                Tensor w = Tensor.of(normal(cols, 2, 1, 0.5), new long[] {cols}, emu);
                Tensor g = Tensor.of(normal(rows * cols, 3, 0, 1), new long[] {rows, cols}, emu);
                NormGrads ln = F.layerNormBackward(x, w, g, 1e-5, true);
                NormGrads rn = F.rmsNormBackward(x, w, g, 1e-5);
                Tensor y = F.softmax(x);
                return concat(ln.input(), ln.weight(), ln.bias(), rn.input(), rn.weight(), y, F.softmaxBackward(y, g));
            }
        });
    }

    @Test
    void gemmTiles() {
        Device emu = Device.EMU;
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            sameInEveryOrder("matmul " + dtype, 4321, () -> {
                try (Scope s = Scope.open()) {
                    Tensor a = tensor(emu, dtype, normal(70 * 37, 4, 0, 1), 70, 37);
                    Tensor b = tensor(emu, dtype, normal(37 * 65, 5, 0, 1), 65, 37);
                    return F.matmul(a, b, false, true).toFloatArray();
                }
            });
        }
    }
}
