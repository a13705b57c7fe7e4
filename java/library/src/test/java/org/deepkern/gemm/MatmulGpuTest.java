package org.deepkern.gemm;

import org.deepkern.testing.RowChecks;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The checks of MatmulTest, MatmulTf32Test, MatmulGradTest and MatmulEmuScheduleTest's shapes on every cuda device
 * (the tensor-core pipeline's cp.async and element paths, every transpose), plus products large
 * enough to run many K stages and block tiles; skipped where there is no GPU.
 */
@Tag("gpu")
class MatmulGpuTest {
    @Test
    void matmulMatchesDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        MatmulTest t = new MatmulTest();
        int[][] mnk = {{1, 1, 1}, {17, 7, 64}, {130, 1, 7}, {7, 257, 17}, {64, 64, 130}, {136, 72, 96},
                {130, 65, 200}, {515, 389, 1031}, {256, 264, 512}};
        for (Device d : TestDevices.cuda())
            for (DType dt : RowChecks.DTYPES)
                for (int[] s : mnk)
                    for (int tr = 0; tr < 4; tr++) t.matmul(d, dt, s[0], s[1], s[2], (tr & 1) != 0, (tr & 2) != 0);
    }

    @Test
    void tf32MatchesRoundedReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        MatmulTf32Test t = new MatmulTf32Test();
        int[][] mnk = {{17, 7, 64}, {130, 65, 200}, {7, 257, 17}, {515, 389, 1031}, {256, 264, 512}};
        for (Device d : TestDevices.cuda()) {
            for (int[] s : mnk)
                for (int tr = 0; tr < 4; tr++) t.matmul(d, s[0], s[1], s[2], (tr & 1) != 0, (tr & 2) != 0);
            for (int out : new int[] {17, 24}) t.linearWithEpilogue(d, out);
        }
    }

    @Test
    void gradientsMatchDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        MatmulGradTest t = new MatmulGradTest();
        for (Device d : TestDevices.cuda()) {
            for (DType dt : new DType[] {DType.F32, DType.BF16})
                for (int c = 0; c < MatmulGradTest.SHAPES.length; c++)
                    for (int tr = 0; tr < 4; tr++) t.valueAndGradients(d, dt, c, (tr & 1) != 0, (tr & 2) != 0);
            for (DType dt : new DType[] {DType.F32, DType.BF16})
                for (String act : new String[] {"silu", "gelu_tanh", "relu"}) t.linearWithActivation(d, dt, act, true);
        }
    }
}
