package org.deepkern.loss;

import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;
import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.Reduction;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;

/**
 * The reductions are deterministic: the same bits on repeated runs, under every emulator schedule
 * and thread count, and the same bits on cpu and emu (one summation order on every backend).
 */
class LossDeterminismTest {
    static final int ROWS = 301, COLS = 97;  // 29197 elements: 8 chunks, the last partial

    /** Every reduced loss and its backward, concatenated, computed on dev. */
    static float[] all(Device dev) {
        try (Scope s = Scope.open()) {
            long[] shape = {ROWS, COLS};
            Tensor x = Tensor.of(normal(ROWS * COLS, 1, 0, 2), shape, dev);
            Tensor t = Tensor.of(normal(ROWS * COLS, 2, 0, 1), shape, dev);
            Tensor p = Tensor.of(LossTest.uniform(ROWS * COLS, 3, 0, 1), shape, dev);
            Tensor h = Tensor.of(LossTest.heatmap(ROWS * COLS, 4), shape, dev);
            long[] yv = new long[ROWS];
            for (int i = 0; i < ROWS; i++) yv[i] = i % 7 == 0 ? -100 : (i * 31) % COLS;
            Tensor y = Tensor.of(yv, new long[] {ROWS}, dev);
            Tensor g = Tensor.of(new float[] {0.75f}, new long[0], dev);
            Tensor pw = Tensor.of(LossTest.uniform(COLS, 5, 0.5, 2), new long[] {COLS}, dev);
            java.util.List<Tensor> outs = new java.util.ArrayList<>();
            for (Reduction r : new Reduction[] {Reduction.MEAN, Reduction.SUM}) {
                outs.add(F.mseLoss(x, t, r));
                outs.add(F.l1Loss(x, t, r));
                outs.add(F.smoothL1Loss(x, t, r, 0.5));
                outs.add(F.binaryCrossEntropyWithLogits(x, p, r, pw));
                outs.add(F.crossEntropy(x, y, r, -100, 0.1));
                outs.add(F.crossEntropyBackward(g, x, y, r, -100, 0.1));
                outs.add(F.mseLossBackward(g, x, t, r));
            }
            outs.add(F.centerNetFocalLoss(x, h, 2, 4));
            outs.add(F.centerNetFocalLossBackward(g, x, h, 2, 4));
            int n = 0;
            for (Tensor o : outs) n += (int) o.numel();
            float[] out = new float[n];
            int at = 0;
            for (Tensor o : outs) {
                float[] v = o.toFloatArray();
                System.arraycopy(v, 0, out, at, v.length);
                at += v.length;
            }
            return out;
        }
    }

    @Test
    void repeatedRunsGiveTheSameBits() {
        TestDevices.host().forEach(dev -> {
            float[] first = all(dev);
            for (int i = 0; i < 3; i++) assertArrayEquals(first, all(dev), dev + " run " + i);
        });
    }

    @Test
    void emuInEveryOrderAndThreadCountGivesTheBitsOfCpu() {
        EmuSchedules.assumeEmu();
        float[] emu = sameInEveryOrder("losses", 77, () -> all(Device.EMU));
        assertArrayEquals(all(Device.CPU), emu, "cpu and emu sum in the same order");
        Emulator.Options defaults = Emulator.options();
        try {
            for (int threads : new int[] {1, 3}) {
                Emulator.setOptions(new Emulator.Options(defaults.schedule(), defaults.scheduleSeed(),
                        defaults.sharedLimit(), threads, defaults.computeCapability()));
                assertArrayEquals(emu, all(Device.EMU), threads + " emulator threads");
            }
        } finally {
            Emulator.setOptions(defaults);
        }
    }
}
