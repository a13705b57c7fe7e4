package org.deepkern.loss;

import java.util.List;
import java.util.stream.Stream;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.Reduction;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.BadInput.Case;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Invalid loss calls raise DeepKernException naming the F method and the argument; the JVM survives them. */
class LossBadInputTest {
    static Tensor z(Device d, DType t, long... shape) {
        return Tensor.zeros(shape, t, d);
    }

    static Tensor closed(Device d) {
        Tensor t = z(d, DType.F32, 4, 3);
        t.close();
        return t;
    }

    static Tensor y(Device d, long... v) {
        return Tensor.of(v, new long[] {v.length}, d);
    }

    static Tensor s(Device d) {
        return z(d, DType.F32);
    }

    static Device other(Device d) {
        return d.type() == Device.Type.CPU ? Device.EMU : Device.CPU;
    }

    static final Reduction M = Reduction.MEAN;

    static final List<Case> TABLE = List.of(
        new Case("mse: integer input", "input", "floating", d -> F.mseLoss(z(d, DType.I32, 4), z(d, DType.I32, 4), M)),
        new Case("mse: target shape", "target", "shape", d -> F.mseLoss(z(d, DType.F32, 4, 3), z(d, DType.F32, 3, 4), M)),
        new Case("mse: target dtype", "target", "dtype", d -> F.mseLoss(z(d, DType.F32, 4), z(d, DType.BF16, 4), M)),
        new Case("mse: null target", "target", "null", d -> F.mseLoss(z(d, DType.F32, 4), null, M)),
        new Case("mse: null reduction", "reduction", "null", d -> F.mseLoss(z(d, DType.F32, 4), z(d, DType.F32, 4), null)),
        new Case("mse: closed input", "input", "closed", d -> F.mseLoss(closed(d), z(d, DType.F32, 4, 3), M)),
        new Case("mse: mixed devices", "target", "move one", d -> F.mseLoss(z(d, DType.F32, 4), z(other(d), DType.F32, 4), M)),
        new Case("mse backward: gradOut not 0-d", "gradOut", "0-d",
                d -> F.mseLossBackward(z(d, DType.F32, 4), z(d, DType.F32, 4), z(d, DType.F32, 4), M)),
        new Case("mse backward: gradOut shape (none)", "gradOut", "shape",
                d -> F.mseLossBackward(z(d, DType.F32), z(d, DType.F32, 4), z(d, DType.F32, 4), Reduction.NONE)),
        new Case("mse backward: gradOut dtype", "gradOut", "dtype",
                d -> F.mseLossBackward(z(d, DType.F16), z(d, DType.F32, 4), z(d, DType.F32, 4), M)),
        new Case("smoothL1: negative beta", "beta", ">= 0", d -> F.smoothL1Loss(z(d, DType.F32, 4), z(d, DType.F32, 4), M, -1)),
        new Case("smoothL1: NaN beta", "beta", "finite", d -> F.smoothL1Loss(z(d, DType.F32, 4), z(d, DType.F32, 4), M, Double.NaN)),
        new Case("smoothL1 backward: infinite beta", "beta", "finite",
                d -> F.smoothL1LossBackward(s(d), z(d, DType.F32, 4), z(d, DType.F32, 4), M, Double.POSITIVE_INFINITY)),
        new Case("bce: posWeight length", "posWeight", "1-D",
                d -> F.binaryCrossEntropyWithLogits(z(d, DType.F32, 2, 4), z(d, DType.F32, 2, 4), M, z(d, DType.F32, 3))),
        new Case("bce: posWeight dtype", "posWeight", "dtype",
                d -> F.binaryCrossEntropyWithLogits(z(d, DType.F32, 2, 4), z(d, DType.F32, 2, 4), M, z(d, DType.BF16, 4))),
        new Case("bce: posWeight 2-D", "posWeight", "1-D",
                d -> F.binaryCrossEntropyWithLogits(z(d, DType.F32, 2, 4), z(d, DType.F32, 2, 4), M, z(d, DType.F32, 1, 4))),
        new Case("ce: target not integer", "target", "i32 or i64",
                d -> F.crossEntropy(z(d, DType.F32, 4, 3), z(d, DType.F32, 4))),
        new Case("ce: integer logits", "logits", "floating", d -> F.crossEntropy(z(d, DType.I64, 4, 3), y(d, 0, 0, 0, 0))),
        new Case("ce: target shape", "target", "shape", d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(d, 0, 0, 0))),
        new Case("ce: 0-d logits", "logits", "0-d", d -> F.crossEntropy(z(d, DType.F32), y(d, 0))),
        new Case("ce: no classes", "logits", "class", d -> F.crossEntropy(z(d, DType.F32, 2, 0), y(d, 0, 0))),
        new Case("ce: label smoothing above 1", "labelSmoothing", "[0, 1]",
                d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(d, 0, 0, 0, 0), M, -100, 1.5)),
        new Case("ce: label smoothing negative", "labelSmoothing", "[0, 1]",
                d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(d, 0, 0, 0, 0), M, -100, -0.1)),
        new Case("ce: label smoothing NaN", "labelSmoothing", "[0, 1]",
                d -> F.crossEntropyBackward(s(d), z(d, DType.F32, 4, 3), y(d, 0, 0, 0, 0), M, -100, Double.NaN)),
        new Case("ce: null reduction", "reduction", "null",
                d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(d, 0, 0, 0, 0), null, -100, 0)),
        new Case("ce: closed logits", "logits", "closed", d -> F.crossEntropy(closed(d), y(d, 0, 0, 0, 0))),
        new Case("ce: mixed devices", "target", "move one", d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(other(d), 0, 0, 0, 0))),
        new Case("ce backward: gradOut shape", "gradOut", "shape",
                d -> F.crossEntropyBackward(z(d, DType.F32, 3), z(d, DType.F32, 4, 3), y(d, 0, 0, 0, 0), Reduction.NONE, -100, 0)),
        new Case("focal: heatmap shape", "heatmap", "shape",
                d -> F.centerNetFocalLoss(z(d, DType.F32, 4, 3), z(d, DType.F32, 4, 4), 2, 4)),
        new Case("focal: heatmap dtype", "heatmap", "dtype",
                d -> F.centerNetFocalLoss(z(d, DType.F32, 4, 3), z(d, DType.F16, 4, 3), 2, 4)),
        new Case("focal: negative alpha", "alpha", ">= 0", d -> F.centerNetFocalLoss(z(d, DType.F32, 4), z(d, DType.F32, 4), -2, 4)),
        new Case("focal: NaN beta", "beta", "finite", d -> F.centerNetFocalLoss(z(d, DType.F32, 4), z(d, DType.F32, 4), 2, Double.NaN)),
        new Case("focal backward: gradOut not 0-d", "gradOut", "0-d",
                d -> F.centerNetFocalLossBackward(z(d, DType.F32, 4), z(d, DType.F32, 4), z(d, DType.F32, 4), 2, 4)),
        new Case("focal backward: closed gradOut", "gradOut", "closed",
                d -> F.centerNetFocalLossBackward(closed(d), z(d, DType.F32, 4), z(d, DType.F32, 4), 2, 4)));

    /**
     * Class indices are checked where they are host memory (cpu, emu) before any kernel runs; on cuda
     * they are not (torch's device assert): there the row's loss is NaN (classIndicesOnCuda).
     */
    static final List<Case> CLASS_INDICES = List.of(
        new Case("ce: class index too large", "target", "outside [0, 3)",
                d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(d, 0, 1, 3, 0))),
        new Case("ce: negative class index", "target", "outside [0, 3)",
                d -> F.crossEntropy(z(d, DType.F32, 4, 3), y(d, 0, -1, 2, 0))),
        new Case("ce backward: class index", "target", "outside",
                d -> F.crossEntropyBackward(s(d), z(d, DType.F32, 4, 3), y(d, 0, 1, 7, 0), M, -100, 0)));

    @TestFactory
    Stream<DynamicTest> classIndicesOnHostMemory() {
        return TestDevices.host().filter(d -> d.type() != Device.Type.CUDA)
                .flatMap(d -> CLASS_INDICES.stream().map(b -> dynamicTest(b.what() + " on " + d, () -> {
                    try (Scope s = Scope.open()) {
                        BadInput.assertRejects(b.what(), b.argument(), b.says(), () -> b.call().run(d));
                    }
                })));
    }

    /** On cuda an out-of-range class gives its row a NaN loss and NaN gradient, the other rows their values. */
    @TestFactory
    Stream<DynamicTest> classIndicesOnCuda() {
        return TestDevices.host().filter(d -> d.type() == Device.Type.CUDA).map(d -> dynamicTest("NaN row on " + d, () -> {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, new long[] {3, 3}, d);
                Tensor t = y(d, 0, 3, 2);
                float[] l = F.crossEntropy(x, t, Reduction.NONE, -100, 0).toFloatArray();
                org.junit.jupiter.api.Assertions.assertTrue(Float.isFinite(l[0]) && Float.isNaN(l[1]) && Float.isFinite(l[2]));
                float[] g = F.crossEntropyBackward(Tensor.ones(new long[] {3}, DType.F32, d), x, t, Reduction.NONE, -100, 0)
                        .toFloatArray();
                for (int c = 0; c < 3; c++)
                    org.junit.jupiter.api.Assertions.assertTrue(Float.isFinite(g[c]) && Float.isNaN(g[3 + c]) && Float.isFinite(g[6 + c]));
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> rejected() {
        return BadInput.onHostDevices(TABLE);
    }
}
