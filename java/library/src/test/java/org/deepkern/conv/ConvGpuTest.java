package org.deepkern.conv;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.conv.ConvReference.TGeom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Conv checks of ConvTest, ConvMmaTest, ConvTf32Test and ConvPathTest on every cuda device; skipped where there is none. */
@Tag("gpu")
class ConvGpuTest {
    @Test
    void convMatchesDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        ConvTest t = new ConvTest();
        for (Device d : TestDevices.cuda())
            for (Layout l : Layout.values()) {
                for (Geom g : ConvTest.geoms()) t.forwardAndGradients(d, l, g);
                for (TGeom g : ConvTest.tgeoms()) t.transposed(d, l, g);
                for (DType dt : new DType[] {DType.BF16, DType.F16})
                    for (Geom g : ConvTest.geoms()) t.halfPrecision(d, dt, l, g);
            }
    }

    @Test
    void tensorCorePathMatchesDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        ConvMmaTest t = new ConvMmaTest();
        for (Device d : TestDevices.cuda())
            for (DType dt : new DType[] {DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    for (Geom g : ConvMmaTest.geoms()) t.matchesReference(d, dt, l, g);
        for (Device d : TestDevices.cuda())
            for (DType dt : new DType[] {DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    for (Geom g : ConvMmaTest.gradGeoms()) t.gradientsMatchReference(d, dt, l, g);
    }

    @Test
    void tf32PathMatchesDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        ConvTf32Test t = new ConvTf32Test();
        for (Device d : TestDevices.cuda())
            for (Layout l : Layout.values())
                for (Geom g : ConvTf32Test.geoms()) t.forwardRoundsToTf32(d, l, g);
        for (Device d : TestDevices.cuda())
            for (Layout l : Layout.values())
                for (Geom g : ConvTf32Test.gradGeoms()) t.gradientsRoundToTf32(d, l, g);
    }

    @Test
    void everyDispatchPathMatchesDoubleReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        ConvPathTest t = new ConvPathTest();
        List<Geom> f32 = new ArrayList<>(ConvPathTest.sweep());
        f32.addAll(ConvPathTest.extras());
        for (Device d : TestDevices.cuda()) {
            for (Layout l : Layout.values()) {
                for (Geom g : f32) t.matchesReference(d, DType.F32, l, g);
                for (DType dt : new DType[] {DType.BF16, DType.F16})
                    for (Geom g : ConvPathTest.halfGeoms()) t.matchesReference(d, dt, l, g);
            }
            t.emptyBatchGivesZeroWeightGradients(d);
        }
    }
}
