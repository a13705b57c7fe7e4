package org.deepkern.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.junit.jupiter.api.Test;

/** The correctness gate on cpu: right ops pass and are timed, wrong ones FAIL untimed. */
class GateTest {
    private static Bench bench() {
        return new Bench(Device.CPU, new Sampler(0.001, 1e-4, 2, 3, 0.01), new DeviceTimer(Device.CPU),
                new Roofline(1e10, 1e10), 1 << 20, null, true);
    }

    @Test
    void everyRegisteredQuickCasePassesOnCpu() {
        for (Result r : bench().run(Cases.all(true), new Progress(null, 0))) {
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
        public void run(Tensor input, Tensor out) {
            F.gelu(input, GeluApproximation.TANH, out);
        }

        @Override
        public String verify(float[] input, float[] output, DType outputDtype) {
            return new GeluOp(GeluApproximation.NONE).verify(input, output, outputDtype);
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
        public void run(Tensor input, Tensor out) {}

        @Override
        public String verify(float[] input, float[] output, DType outputDtype) {
            return new CastOp(DType.F32).verify(input, output, outputDtype);
        }
    }

    @Test
    void wrongResultsFailAndAreNotTimed() {
        for (BenchOp op : List.of(new WrongGelu(), new Lazy())) {
            Result r = bench().run(new BenchCase(op, DType.F32, new long[] {4096}));
            assertFalse(r.passed(), op.name());
            assertTrue(r.failure().startsWith("wrong result"), r.failure());
            assertNull(r.stats());
            assertTrue(Report.text(List.of(r)).contains("FAIL"));
        }
    }

    @Test
    void hostReferencesAgreeWithTextbookValues() {
        GeluOp exact = new GeluOp(GeluApproximation.NONE);
        assertEquals(0.8413447460685429, exact.gelu(1), 2e-7);
        assertEquals(-0.15865525393145707, exact.gelu(-1), 2e-7);
        assertEquals(1.0f, Accuracy.round(1.00390625f, DType.BF16));          // tie to even: down
        assertEquals(1.015625f, Accuracy.round(1.01171875f, DType.BF16));     // tie to even: up
        assertTrue(Double.isNaN(Accuracy.relativeError(new double[] {1}, new float[] {Float.NaN})));
    }
}
