package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.Tape;

/**
 * Checks a tape's gradients against central finite differences of an independent double-precision
 * reference: for L = sum(W * f(leaves)) with fixed random weights W, the autograd gradient of every
 * leaf (seeded with W, so the seed path is tested too) is compared with (L_ref(x + h e_j) - L_ref(x -
 * h e_j)) / 2h computed on the reference in double, on a sample of each leaf's elements; the forward
 * is compared with the reference first.
 */
public final class GradCheck {
    private GradCheck() {}

    /** The op under test, over the leaves (in order). */
    public interface Fn {
        Tensor apply(Tensor[] leaves);
    }

    /** The double reference of the op: the output, row-major, from the leaves' values. */
    public interface Ref {
        double[] apply(double[][] leaves);
    }

    /**
     * Random normal leaves of the given shapes (f32 on device), then {@link #check(String, Tensor[], Supplier, Ref, double)}.
     */
    public static void check(String what, Device device, long[][] shapes, Fn f, Ref ref, double tol, long seed) {
        try (Scope scope = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(seed);
            Tensor[] leaves = new Tensor[shapes.length];
            for (int i = 0; i < shapes.length; i++) {
                long n = 1;
                for (long e : shapes[i]) n *= e;
                float[] v = new float[(int) n];
                for (int j = 0; j < v.length; j++) v[j] = (float) rng.nextGaussian();
                leaves[i] = Tensor.of(v, shapes[i], device).requiresGrad(true);
            }
            check(what + " on " + device, leaves, () -> f.apply(leaves), ref, tol);
        }
    }

    /**
     * @param what the case, for messages
     * @param leaves the tensors whose gradients are checked (gradients cleared first)
     * @param f the op, run on a tape
     * @param ref its double reference over the leaves' values
     * @param tol the tolerance, relative to max(1, the largest reference value) of each quantity
     */
    public static void check(String what, Tensor[] leaves, Supplier<Tensor> f, Ref ref, double tol) {
        double[][] x = new double[leaves.length][];
        for (int i = 0; i < leaves.length; i++) {
            leaves[i].clearGrad();
            x[i] = toDouble(leaves[i].toFloatArray());
        }
        double[] want = ref.apply(x);
        SplittableRandom rng = new SplittableRandom(want.length * 31L + leaves.length);
        double[] w = new double[want.length];
        float[] wf = new float[want.length];
        for (int j = 0; j < w.length; j++) w[j] = wf[j] = (float) rng.nextGaussian();
        try (Scope scope = Scope.open(); Tape tape = Tape.open()) {
            Tensor y = f.get();
            assertEquals(want.length, y.numel(), what + ": output size");
            assertClose(what + ": forward", want, toDouble(y.toFloatArray()), tol);
            assertTrue(y.requiresGrad(), what + ": the output needs a gradient");
            tape.backward(y, Tensor.of(wf, new long[] {wf.length}, y.device()).reshape(y.shape()));
        }
        for (int i = 0; i < leaves.length; i++) {
            assertNotNull(leaves[i].grad(), what + ": leaf " + i + " got no gradient");
            double[] got = toDouble(leaves[i].grad().toFloatArray());
            int samples = Math.min(x[i].length, 48);
            double[] fd = new double[samples], ad = new double[samples];
            for (int s = 0; s < samples; s++) {
                int j = samples == x[i].length ? s : rng.nextInt(x[i].length);
                double keep = x[i][j], h = 1e-6 * Math.max(1, Math.abs(keep));
                x[i][j] = keep + h;
                double up = dot(w, ref.apply(x));
                x[i][j] = keep - h;
                double down = dot(w, ref.apply(x));
                x[i][j] = keep;
                fd[s] = (up - down) / (2 * h);
                ad[s] = got[j];
            }
            assertClose(what + ": gradient of leaf " + i, fd, ad, tol);
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    public static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    private static void assertClose(String what, double[] want, double[] got, double tol) {
        double scale = 1;
        for (double v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(want[i] - got[i]);
            if (!(err <= tol * scale)) throw new AssertionError(what + ": element " + i + " expected " + want[i]
                    + ", got " + got[i] + " (error " + err + " > " + tol + " x " + scale + ")");
        }
    }
}
