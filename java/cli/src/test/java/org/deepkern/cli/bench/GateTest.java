package org.deepkern.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.junit.jupiter.api.Test;

/** The correctness gate on cpu: right ops pass and are timed, wrong ones FAIL untimed. */
class GateTest {
    private static Bench bench() {
        return new Bench(Device.CPU, new Sampler(0.001, 1e-4, 2, 3, 0.01), new DeviceClock(Device.CPU),
                new Roofline(1e10, 1e10), 1 << 20, null, true);
    }

    @Test
    void everyRegisteredQuickCasePassesOnCpu() {
        for (Result r : bench().run(Cases.all(true, false), new Progress(null, 0))) {
            assertTrue(r.passed(), r.benchCase().id() + ": " + r.failure());
            assertNotNull(r.stats());
        }
    }

    /** GELU computing the other form: close, but not the function asked for. */
    record WrongGelu() implements BenchOp {
        @Override
        public String name() {
            return "gelu";
        }

        @Override
        public double flopsPerElement() {
            return 20;
        }

        @Override
        public void run(long[] shape, Tensor[] in, Tensor[] out) {
            F.gelu(in[0], GeluApproximation.TANH, out[0]);
        }

        @Override
        public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
            return new ActivationOp(Act.Kind.GELU, false, false).verify(shape, in, out, outputDtype);
        }
    }

    /** A multi-input op given its inputs in the wrong order: silu backward with x and gradOut swapped. */
    record SwappedSiluBackward() implements BenchOp {
        private static final ActivationOp RIGHT = new ActivationOp(Act.Kind.SILU, false, true);

        @Override
        public String name() {
            return "silu_bwd";
        }

        @Override
        public List<long[]> inputShapes(long[] shape) {
            return RIGHT.inputShapes(shape);
        }

        @Override
        public double flopsPerElement() {
            return RIGHT.flopsPerElement();
        }

        @Override
        public void run(long[] shape, Tensor[] in, Tensor[] out) {
            RIGHT.run(shape, new Tensor[] {in[1], in[0]}, out);
        }

        @Override
        public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
            return RIGHT.verify(shape, in, out, outputDtype);
        }
    }

    /** The bias backward leaving its second output, grad_bias, unwritten: the NaN poison shows it. */
    record NoGradBias() implements BenchOp {
        private static final ActivationOp RIGHT = new ActivationOp(Act.Kind.RELU, true, true);

        @Override
        public String name() {
            return "relu_bias_bwd";
        }

        @Override
        public List<long[]> inputShapes(long[] shape) {
            return RIGHT.inputShapes(shape);
        }

        @Override
        public List<long[]> outputShapes(long[] shape) {
            return RIGHT.outputShapes(shape);
        }

        @Override
        public double flopsPerElement() {
            return RIGHT.flopsPerElement();
        }

        @Override
        public void run(long[] shape, Tensor[] in, Tensor[] out) {
            RIGHT.run(shape, in, new Tensor[] {out[0], Tensor.empty(out[1].shape(), out[1].dtype(), out[1].device())});
        }

        @Override
        public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
            return RIGHT.verify(shape, in, out, outputDtype);
        }
    }

    /** An op that never writes its output: the NaN poison shows it. */
    record Lazy() implements BenchOp {
        @Override
        public String name() {
            return "lazy";
        }

        @Override
        public double flopsPerElement() {
            return 0;
        }

        @Override
        public void run(long[] shape, Tensor[] in, Tensor[] out) {}

        @Override
        public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
            return new CastOp(DType.F32).verify(shape, in, out, outputDtype);
        }
    }

    @Test
    void wrongResultsFailAndAreNotTimed() {
        for (BenchOp op : List.of(new WrongGelu(), new SwappedSiluBackward(), new NoGradBias(), new Lazy())) {
            Result r = bench().run(new BenchCase(op, DType.F32, new long[] {64, 64}));
            assertFalse(r.passed(), op.name());
            assertTrue(r.failure().startsWith("wrong result"), r.failure());
            assertNull(r.stats());
            assertTrue(Report.text(List.of(r)).contains("FAIL"));
        }
    }

    @Test
    void hostReferencesAgreeWithTextbookValues() {
        assertEquals(0.8413447460685429, HostAct.value(Act.Kind.GELU, 1), 2e-7);
        assertEquals(-0.15865525393145707, HostAct.value(Act.Kind.GELU, -1), 2e-7);
        assertEquals(0.7310585786300049, HostAct.value(Act.Kind.SILU, 1), 1e-15);        // 1 / (1 + 1/e)
        assertEquals(0.5, HostAct.derivative(Act.Kind.GELU, 0), 1e-7);
        assertEquals(0.5, HostAct.derivative(Act.Kind.SILU, 0), 1e-15);
        assertEquals(0, HostAct.derivative(Act.Kind.RELU, 0));                         // torch: 0 at 0
        for (Act.Kind k : List.of(Act.Kind.SILU, Act.Kind.GELU, Act.Kind.GELU_TANH))      // derivative vs difference
            for (double x : new double[] {-3, -0.5, 0.7, 2.5})
                assertEquals((HostAct.value(k, x + 1e-3) - HostAct.value(k, x - 1e-3)) / 2e-3, HostAct.derivative(k, x),
                        1e-5, k + " at " + x);
        assertEquals(1.0f, Accuracy.round(1.00390625f, DType.BF16));          // tie to even: down
        assertEquals(1.015625f, Accuracy.round(1.01171875f, DType.BF16));     // tie to even: up
        assertTrue(Double.isNaN(Accuracy.relativeError(new double[] {1}, new float[] {Float.NaN})));
    }
}
