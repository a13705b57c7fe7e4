package org.deepkern.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Access;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * torch.optim (libtorch's C++ AdamW and SGD, through the presets) as a second opinion: torch's
 * parameters after 10 steps are first vetted against the double reference (a wrong answer on this
 * CPU skips the case), then deepkern, given the same gradients, must agree with torch.
 */
class OptimTorchTest {
    static final long[][] SHAPES = {{1}, {7}, {33, 5}, {3, 4, 5}, {1025}};
    static final int STEPS = 10, LATE = 1, LATE_FROM = 3;

    static {
        torch.set_num_threads(1);
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    /** The gradients of every step (null: the parameter has none that step) and the initial parameters. */
    record Trajectory(float[][] init, float[][][] grads) {
        static Trajectory random(long seed) {
            Random r = new Random(seed);
            float[][] init = new float[SHAPES.length][];
            float[][][] grads = new float[STEPS][SHAPES.length][];
            for (int i = 0; i < SHAPES.length; i++) init[i] = OptimTest.random(r, OptimTest.numel(SHAPES[i]), 1.0);
            for (int s = 0; s < STEPS; s++)
                for (int i = 0; i < SHAPES.length; i++)
                    if (!(i == LATE && s < LATE_FROM)) grads[s][i] = OptimTest.random(r, init[i].length, 1.0 + s);
            return new Trajectory(init, grads);
        }
    }

    /** torch's parameters after the steps, with its optimizer made by make over the parameter list. */
    static float[][] torchRun(Trajectory tr, Function<TensorVector, org.bytedeco.pytorch.Optimizer> make) {
        try (PointerScope scope = new PointerScope()) {
            List<org.bytedeco.pytorch.Tensor> ps = new ArrayList<>();
            for (int i = 0; i < SHAPES.length; i++) {
                org.bytedeco.pytorch.Tensor t = torch.from_blob(new FloatPointer(tr.init()[i]), SHAPES[i]).clone();
                t.set_requires_grad(true);
                ps.add(t);
            }
            org.bytedeco.pytorch.Optimizer opt = make.apply(new TensorVector(ps.toArray(new org.bytedeco.pytorch.Tensor[0])));
            for (int s = 0; s < STEPS; s++) {
                opt.zero_grad(true);
                for (int i = 0; i < SHAPES.length; i++) {
                    float[] g = tr.grads()[s][i];
                    if (g != null) ps.get(i).mutable_grad().put(torch.from_blob(new FloatPointer(g), SHAPES[i]).clone());
                }
                opt.step();
            }
            float[][] out = new float[SHAPES.length][];
            for (int i = 0; i < SHAPES.length; i++) {
                org.bytedeco.pytorch.Tensor f = ps.get(i).detach().contiguous();
                out[i] = new float[(int) f.numel()];
                f.data_ptr_float().get(out[i]);
            }
            return out;
        }
    }

    /** deepkern's parameters after the same steps on d. */
    static float[][] deepkernRun(Device d, Trajectory tr, Function<List<Tensor>, Optimizer> make) {
        List<Tensor> ps = new ArrayList<>();
        for (int i = 0; i < SHAPES.length; i++) ps.add(Scope.detach(Tensor.of(tr.init()[i], SHAPES[i], d)));
        try (Optimizer opt = make.apply(ps)) {
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                for (int i = 0; i < SHAPES.length; i++) {
                    float[] g = tr.grads()[s][i];
                    if (g != null) Access.gradSlot(ps.get(i)).grad = Scope.detach(Tensor.of(g, SHAPES[i], d));
                }
                opt.step();
            }
            float[][] out = new float[SHAPES.length][];
            for (int i = 0; i < SHAPES.length; i++) out[i] = ps.get(i).toFloatArray();
            return out;
        } finally {
            OptimTest.closeAll(ps);
        }
    }

    /** The double reference over the same steps. */
    static double[][] referenceRun(Trajectory tr, OptimTest.RefStep ref) {
        double[][] p = new double[SHAPES.length][], s1 = new double[SHAPES.length][], s2 = new double[SHAPES.length][];
        long[] t = new long[SHAPES.length];
        for (int i = 0; i < SHAPES.length; i++) {
            p[i] = OptimReference.toDouble(tr.init()[i]);
            s1[i] = new double[p[i].length];
            s2[i] = new double[p[i].length];
        }
        for (int s = 0; s < STEPS; s++)
            for (int i = 0; i < SHAPES.length; i++) {
                float[] g = tr.grads()[s][i];
                if (g == null) continue;
                ref.step(i, p[i], OptimReference.toDouble(g), new double[][] {s1[i], s2[i]}, ++t[i]);
            }
        return p;
    }

    static void check(Device d, String what, Function<TensorVector, org.bytedeco.pytorch.Optimizer> torchMake,
                      Function<List<Tensor>, Optimizer> make, OptimTest.RefStep ref) {
        Trajectory tr = Trajectory.random(what.hashCode());
        double[][] want = referenceRun(tr, ref);
        float[][] theirs = torchRun(tr, torchMake);
        Oracle o = Oracle.torch();
        for (int i = 0; i < SHAPES.length; i++) o.vet(what + " param " + i, want[i], theirs[i], 2e-5, 2e-5);
        o.judge(() -> {
            float[][] ours = deepkernRun(d, tr, make);
            for (int i = 0; i < SHAPES.length; i++) {
                double[] t = OptimReference.toDouble(theirs[i]);
                String why = Close.mismatch(t, ours[i], 2e-5, i2 -> 2e-5, what + " on " + d + " vs torch, param " + i);
                if (why != null) throw new AssertionError(why);
            }
        });
    }

    @ParameterizedTest
    @MethodSource("devices")
    void adamw(Device d) {
        // betas and eps at torch's defaults: the presets map AdamWOptions.betas (a std::tuple) to a
        // DoublePointer whose writes torch does not see (found by the vetting below)
        AdamW.Options o = AdamW.Options.defaults().lr(1e-2).weightDecay(0.05);
        check(d, "AdamW", ps -> {
            AdamWOptions t = new AdamWOptions(o.lr());
            t.weight_decay().put(o.weightDecay());
            return new org.bytedeco.pytorch.AdamW(ps, t);
        }, ps -> new AdamW(ps, o), OptimTest.adamwRef(o));
    }

    @ParameterizedTest
    @MethodSource("devices")
    void sgd(Device d) {
        for (Sgd.Options o : OptimTest.SGDS) {
            check(d, "SGD " + o, ps -> {
                SGDOptions t = new SGDOptions(o.lr());
                t.momentum().put(o.momentum());
                t.dampening().put(o.dampening());
                t.weight_decay().put(o.weightDecay());
                t.nesterov().put(o.nesterov());
                return new org.bytedeco.pytorch.SGD(ps, t);
            }, ps -> new Sgd(ps, o), OptimTest.sgdRef(o));
        }
    }
}
