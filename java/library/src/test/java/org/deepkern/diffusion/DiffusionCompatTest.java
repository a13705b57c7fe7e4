package org.deepkern.diffusion;

import static org.deepkern.diffusion.DiffusionStepTest.S;
import static org.deepkern.diffusion.DiffusionStepTest.eulerSigma;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.Philox;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a diffusers user expects of the same config: the defaults (clip_sample on for DDPM and DDIM,
 * off elsewhere), add_noise / scale_noise, scale_model_input and the noise drawn from a Generator,
 * on cpu and emu against double references from diffusers' formulas. a x0 + b z and x / c are a
 * few f32 roundings of their terms: rtol 1e-6 plus atol 1e-6 (|a x0| + |b z|).
 */
class DiffusionCompatTest {
    static final int ROWS = 4, COLS = 251;

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    @Test
    void defaultsAreDiffusers() {
        for (AbstractScheduler<?> s : new AbstractScheduler<?>[] {new DdpmScheduler(S), new DdimScheduler(S)}) {
            assertTrue(s.clipSample(), s.name() + " clips by default");
            assertEquals(1, s.clipSampleRange(), s.name() + " clips to [-1, 1]");
            assertEquals(Prediction.EPSILON, s.prediction());
        }
        for (AbstractScheduler<?> s : new AbstractScheduler<?>[] {EulerScheduler.discrete(S), EulerScheduler.discrete(S).heun(),
                EulerScheduler.flow(1000, 1), new DpmSolverScheduler(S), ScoreSdeScheduler.vp()})
            assertFalse(s.clipSample(), s.name() + " does not clip by default");
        assertSame(Generator.defaultGenerator(), new DdpmScheduler(S).generator());
        DdimScheduler ddim = new DdimScheduler(S);  // leading, steps_offset 0
        ddim.setTimesteps(50);
        assertEquals(980, ddim.timesteps()[0]);
        assertEquals(0, ddim.timesteps()[49]);
    }

    /** DDIM's x0 far outside [-1, 1] (x ~ N(0, 4), early t): clamped by default, kept with clipSample(false). */
    @ParameterizedTest
    @MethodSource("devices")
    void clipIsOnUnlessTurnedOff(Device device) {
        for (boolean clip : new boolean[] {true, false}) {
            DdimScheduler s = new DdimScheduler(S);
            if (!clip) s.clipSample(false);
            s.setTimesteps(10);
            try (Scope scope = Scope.open()) {
                Tensor x = random(device, 1, 2), m = random(device, 2, 1);
                float max = 0;
                for (float v : s.step(m, s.timesteps()[0], x).predOriginalSample().toFloatArray()) max = Math.max(max, Math.abs(v));
                assertTrue(clip ? max == 1 : max > 10, "clip " + clip + " on " + device + ": max |x0| " + max);
            }
        }
    }

    /** Each family's add_noise: VP at any train timestep, Euler and flow matching at their grid's sigmas. */
    @ParameterizedTest
    @MethodSource("devices")
    void addNoiseIsDiffusers(Device device) {
        EulerScheduler euler = EulerScheduler.discrete(S), flow = EulerScheduler.flow(1000, 3);
        DpmSolverScheduler dpm = new DpmSolverScheduler(S);
        euler.setTimesteps(10);
        flow.setTimesteps(10);
        dpm.setTimesteps(10);
        try (Scope scope = Scope.open()) {
            Tensor x0 = random(device, 3, 1), z = random(device, 4, 1);
            for (int t : new int[] {0, 17, 500, 999}) {
                double ab = S.alphaBar(t);
                check(Math.sqrt(ab), Math.sqrt(1 - ab), x0, z, new DdpmScheduler(S).addNoise(x0, z, t), "ddpm t " + t);
                check(Math.sqrt(ab), Math.sqrt(1 - ab), x0, z, new DdimScheduler(S).addNoise(x0, z, t), "ddim t " + t);
            }
            double[] ts = euler.timesteps();
            for (int i : new int[] {0, 4, 9}) {
                check(1, eulerSigma(ts, i), x0, z, euler.addNoise(x0, z, ts[i]), "euler step " + i);
                double s = flowShifted(i);
                check(1 - s, s, x0, z, flow.addNoise(x0, z, flow.timesteps()[i]), "flow step " + i);
                double ab = S.alphaBar((int) dpm.timesteps()[i]);
                check(Math.sqrt(ab), Math.sqrt(1 - ab), x0, z, dpm.addNoise(x0, z, dpm.timesteps()[i]), "dpm step " + i);
            }
        }
    }

    /** add_noise with one timestep per row, on VP and on Euler's grid. */
    @ParameterizedTest
    @MethodSource("devices")
    void addNoisePerRow(Device device) {
        EulerScheduler euler = EulerScheduler.discrete(S);
        euler.setTimesteps(10);
        double[] ets = euler.timesteps();
        try (Scope scope = Scope.open()) {
            Tensor x0 = random(device, 5, 1), z = random(device, 6, 1);
            double[] t = {0, 999, 17, 500}, a = new double[ROWS], b = new double[ROWS];
            for (int r = 0; r < ROWS; r++) {
                a[r] = Math.sqrt(S.alphaBar((int) t[r]));
                b[r] = Math.sqrt(1 - S.alphaBar((int) t[r]));
            }
            checkRows(a, b, x0, z, new DdpmScheduler(S).addNoise(x0, z, t), "ddpm per row");
            double[] et = {ets[0], ets[9], ets[3], ets[3]};
            double[] ones = {1, 1, 1, 1}, sig = {eulerSigma(ets, 0), eulerSigma(ets, 9), eulerSigma(ets, 3), eulerSigma(ets, 3)};
            checkRows(ones, sig, x0, z, euler.addNoise(x0, z, et), "euler per row");
            Tensor h = x0.to(DType.BF16), hz = z.to(DType.BF16);
            Tensor got = new DdpmScheduler(S).addNoise(h, hz, t);
            assertEquals(DType.BF16, got.dtype());
            checkRows(a, b, h, hz, got, 1.0 / 256, "ddpm per row, bf16");
        }
    }

    /** EulerDiscrete's scale_model_input divides by sqrt(sigma^2 + 1); the others return x's values in a tensor of their own. */
    @ParameterizedTest
    @MethodSource("devices")
    void scaleModelInputIsDiffusers(Device device) {
        try (Scope scope = Scope.open()) {
            Tensor x = random(device, 7, 3);
            double[] xd = doubles(x);
            for (EulerScheduler e : new EulerScheduler[] {EulerScheduler.discrete(S), EulerScheduler.discrete(S).heun()}) {
                e.setTimesteps(5);
                double[] ts = e.timesteps();
                for (int i = 0; i < ts.length; i++) {
                    double s = eulerSigma(ts, i), c = Math.sqrt(s * s + 1);
                    double[] ref = new double[xd.length];
                    for (int k = 0; k < ref.length; k++) ref[k] = xd[k] / c;
                    Close.assertClose(ref, e.scaleModelInput(x, ts[i]).toFloatArray(), 1e-6, 0, "euler at step " + i + " on " + device);
                }
            }
            EulerScheduler flow = EulerScheduler.flow(1000, 1);
            flow.setTimesteps(5);
            DdimScheduler ddim = new DdimScheduler(S);
            ddim.setTimesteps(5);
            for (Tensor in : new Tensor[] {ddim.scaleModelInput(x, ddim.timesteps()[1]), flow.scaleModelInput(x, flow.timesteps()[1])}) {
                Close.assertClose(xd, in.toFloatArray(), 0, 0, "identity on " + device);
                in.close();
                assertFalse(x.isClosed(), "closing the model input leaves x open");
            }
        }
    }

    /**
     * A noisy step draws numel normals from the scheduler's generator, where Tensor.randn would, and
     * advances it by ceil(numel / 4): with x = model = 0 DDPM's step is sigma z.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void stepNoiseComesFromTheGenerator(Device device) {
        DdpmScheduler s = new DdpmScheduler(S);
        s.setTimesteps(10);
        Generator g = new Generator(42);
        s.generator(g);
        int n = ROWS * COLS;
        double[] ts = s.timesteps();
        int t = (int) ts[2], p = (int) ts[3];
        double abT = S.alphaBar(t), abP = S.alphaBar(p), sigma = Math.sqrt((1 - abP) / (1 - abT) * (1 - abT / abP));
        try (Scope scope = Scope.open()) {
            Tensor zero = Tensor.zeros(new long[] {ROWS, COLS}, DType.F32, device);
            for (int draw = 0; draw < 2; draw++) {
                long offset = g.offset();
                double[] ref = new double[n];
                for (int k = 0; k < n; k++) ref[k] = sigma * Philox.normal(42, offset, k);
                Close.assertClose(ref, s.step(zero, ts[2], zero).prevSample().toFloatArray(), 1e-5, 1e-6, "draw " + draw + " on " + device);
                assertEquals(offset + (n + 3) / 4, g.offset(), "the step advanced the generator");
            }
        }
    }

    /**
     * FlowMatchEulerDiscrete's sigma at step i of 10, shift 3: shift(linspace(1, shift(1/T), n)),
     * shift(s) = 3 s / (1 + 2 s).
     */
    static double flowShifted(int i) {
        double sMin = 3 * 0.001 / (1 + 2 * 0.001), lin = 1 + i * (sMin - 1) / 9;
        return 3 * lin / (1 + 2 * lin);
    }

    static void check(double a, double b, Tensor x0, Tensor z, Tensor got, String what) {
        checkRows(new double[] {a, a, a, a}, new double[] {b, b, b, b}, x0, z, got, what);
    }

    static void checkRows(double[] a, double[] b, Tensor x0, Tensor z, Tensor got, String what) {
        checkRows(a, b, x0, z, got, 1e-6, what);
    }

    static void checkRows(double[] a, double[] b, Tensor x0, Tensor z, Tensor got, double rtol, String what) {
        double[] xd = doubles(x0), zd = doubles(z), ref = new double[xd.length], atol = new double[xd.length];
        for (int k = 0; k < ref.length; k++) {
            int r = k / COLS;
            ref[k] = a[r] * xd[k] + b[r] * zd[k];
            atol[k] = 1e-6 * (Math.abs(a[r] * xd[k]) + Math.abs(b[r] * zd[k]));
        }
        Close.assertClose(ref, got.toFloatArray(), rtol, k -> atol[k], what + " on " + x0.device());
    }

    static Tensor random(Device device, long seed, double scale) {
        Random r = new Random(seed);
        float[] v = new float[ROWS * COLS];
        for (int k = 0; k < v.length; k++) v[k] = (float) (scale * r.nextGaussian());
        return Tensor.of(v, new long[] {ROWS, COLS}, device);
    }

    static double[] doubles(Tensor t) {
        return DiffusionStepTest.doubles(t);
    }
}
