package org.deepkern.conv;

import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dWeightGrads;
import org.deepkern.ops.F;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;

import java.util.List;
import java.util.Random;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.junit.jupiter.api.Test;

/**
 * Race check of the conv kernels on emu: the FMA and tensor-core forwards (shared-memory tiles
 * behind barriers, cp.async), the depthwise forwards (the NCHW one stages a window in shared
 * memory), the 1x1 forward through the GEMM kernel, the fused epilogue and the implicit-GEMM
 * gradients (residue classes at stride 2, the split weight gradient and its second pass; the
 * tensor-core ones in bf16 / f16 and TF32, NHWC and NCHW through channels-last copies) give
 * bit-identical results whether the threads of a block run forward, reversed or shuffled between
 * barriers.
 */
class ConvScheduleTest {
    private static final long SEED = 99;   // of the shuffled schedule

    private static float[] forward(DType t, Layout l, Geom g, boolean fused) {
        Random rnd = new Random(5);
        boolean nhwc = l == Layout.NHWC;
        try (Scope s = Scope.open()) {
            Device d = Device.EMU;
            Tensor x = ConvTest.upload(d, t, ConvTest.eighths(rnd, g.xSize()), nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor w = ConvTest.upload(d, t, ConvTest.eighths(rnd, g.wSize()), nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor b = ConvTest.upload(d, t, ConvTest.eighths(rnd, g.k()), false, 1, 1, 1, g.k()).reshape(g.k());
            Tensor r = ConvTest.upload(d, t, ConvTest.eighths(rnd, g.ySize()), nhwc, g.n(), g.k(), g.p(), g.q());
            Conv2dParams p = g.params(l);
            return (fused ? F.conv2d(x, w, b, r, p.withActivation(Act.silu())) : F.conv2d(x, w, null, p)).toFloatArray();
        }
    }

    @Test
    void forwardKernelsHaveNoRaces() {
        Geom fma = new Geom(2, 3, 9, 9, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);   // several tiles each way
        Geom mma = ConvMmaTest.geoms().get(4);
        for (Layout l : Layout.values()) {
            sameInEveryOrder("fma " + l, SEED, () -> forward(DType.F32, l, fma, false));
            sameInEveryOrder("fma fused " + l, SEED, () -> forward(DType.F32, l, fma, true));
        }
        sameInEveryOrder("mma", SEED, () -> forward(DType.BF16, Layout.NHWC, mma, false));
        sameInEveryOrder("mma fused", SEED, () -> forward(DType.F16, Layout.NHWC, mma, true));
        sameInEveryOrder("mma nchw", SEED, () -> forward(DType.BF16, Layout.NCHW, mma, true));
        tf32(() -> {
            for (Layout l : Layout.values()) sameInEveryOrder("mma tf32 " + l, SEED, () -> forward(DType.F32, l, mma, true));
        });
    }

    /** r with TF32 allowed on emu: f32 on the tensor-core kernels (m16n8k8.tf32, 4-byte loads of k-major tiles). */
    private static void tf32(Runnable r) {
        DeepKern.setAllowTf32(Device.EMU, true);
        try {
            r.run();
        } finally {
            DeepKern.setAllowTf32(Device.EMU, false);
        }
    }

    @Test
    void depthwiseAnd1x1ForwardsHaveNoRaces() {
        Geom dw = new Geom(1, 4, 20, 40, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4);    // 3 x 2 window tiles per plane
        Geom oneByOne = new Geom(2, 5, 9, 9, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        for (Layout l : Layout.values()) {
            sameInEveryOrder("depthwise " + l, SEED, () -> forward(DType.F32, l, dw, false));
            sameInEveryOrder("depthwise fused " + l, SEED, () -> forward(DType.BF16, l, dw, true));
        }
        sameInEveryOrder("gemm_1x1 fused", SEED, () -> forward(DType.F32, Layout.NHWC, oneByOne, true));
    }

    @Test
    void gradientKernelsHaveNoRaces() {
        List<Geom> gs = List.of(ConvTest.geoms().get(2),           // dilation 2, groups 2
                new Geom(1, 6, 9, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2),  // stride 2: four residue classes, 70 filters
                ConvPathTest.extras().get(1));                          // 800 pixels: the split weight gradient
        for (Geom g : gs)
            for (Layout l : Layout.values()) gradients(g, l, DType.F32);
        // the tensor-core gradients: residue classes, and the split weight gradient; NCHW through
        // channels-last copies; f32 as TF32
        Geom strided = new Geom(1, 16, 9, 9, 16, 3, 3, 2, 2, 2, 1, 1, 2, 2, 2, 2);
        Geom split = new Geom(2, 8, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        gradients(strided, Layout.NHWC, DType.BF16);
        gradients(split, Layout.NHWC, DType.F16);
        gradients(strided, Layout.NCHW, DType.F16);
        gradients(split, Layout.NCHW, DType.BF16);
        tf32(() -> {
            gradients(strided, Layout.NHWC, DType.F32);
            gradients(split, Layout.NCHW, DType.F32);
        });
    }

    private void gradients(Geom g, Layout l, DType t) {
        Random rnd = new Random(6);
        boolean nhwc = l == Layout.NHWC;
        double[] x = ConvTest.eighths(rnd, g.xSize()), w = ConvTest.eighths(rnd, g.wSize()), gy = ConvTest.eighths(rnd, g.ySize());
        Conv2dParams p = g.params(l);
        long[] xShape = nhwc ? new long[] {g.n(), g.h(), g.w(), g.c()} : new long[] {g.n(), g.c(), g.h(), g.w()};
        long[] wShape = nhwc ? new long[] {g.k(), g.r(), g.s(), g.cg()} : new long[] {g.k(), g.cg(), g.r(), g.s()};
        sameInEveryOrder("grad x " + t + " " + l + " " + g, SEED, () -> {
            try (Scope s = Scope.open()) {
                return F.conv2dBackwardData(ConvTest.upload(Device.EMU, t, gy, nhwc, g.n(), g.k(), g.p(), g.q()),
                        ConvTest.upload(Device.EMU, t, w, nhwc, g.k(), g.cg(), g.r(), g.s()), xShape, p)
                        .toFloatArray();
            }
        });
        sameInEveryOrder("grad w " + t + " " + l + " " + g, SEED, () -> {
            try (Scope s = Scope.open()) {
                Conv2dWeightGrads wg = F.conv2dBackwardWeight(
                        ConvTest.upload(Device.EMU, t, x, nhwc, g.n(), g.c(), g.h(), g.w()),
                        ConvTest.upload(Device.EMU, t, gy, nhwc, g.n(), g.k(), g.p(), g.q()), wShape, false, p);
                try (wg) {
                    return wg.gradWeight().toFloatArray();
                }
            }
        });
    }
}
