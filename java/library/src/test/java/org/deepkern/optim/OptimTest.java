package org.deepkern.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Access;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The multi-tensor optimizers and gradient clipping against the double reference (OptimReference)
 * over 10 steps with new gradients every step, on cpu and emu: parameters of awkward sizes (one of
 * them past a 65536-element chunk, so several blocks share a tensor), one parameter without a
 * gradient for its first steps (skipped, then starting its own step count), f32 and bf16 with f32
 * master weights; the same bits on every backend; clipping deterministic in every emu schedule.
 */
class OptimTest {
    static final long[][] SHAPES = {{1}, {7}, {33, 5}, {3, 4, 5}, {70001}, {2, 1, 9}};
    static final int STEPS = 10;
    /** The parameter that has no gradient until this step. */
    static final int LATE = 2, LATE_FROM = 4;

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    static int numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return (int) n;
    }

    static float[] random(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    /** Rounds to bf16 (nearest even), as floats. */
    static float bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        u = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
        return Float.intBitsToFloat(u);
    }

    /** Sets p's gradient (the slot owns it, outside every scope). */
    static void setGrad(Tensor p, float[] g) {
        p.clearGrad();
        Tensor t = Tensor.of(g, p.shape(), p.device());
        if (p.dtype() != DType.F32) {
            Tensor c = t.to(p.dtype());
            t.close();
            t = c;
        }
        Access.gradSlot(p).grad = Scope.detach(t);
    }

    static List<Tensor> params(Device d, DType dtype, Random r) {
        List<Tensor> ps = new ArrayList<>();
        for (long[] s : SHAPES) {
            Tensor t = Tensor.of(random(r, numel(s), 1.0), s, d);
            if (dtype != DType.F32) {
                Tensor c = t.to(dtype);
                t.close();
                t = c;
            }
            ps.add(Scope.detach(t));
        }
        return ps;
    }

    static void closeAll(List<Tensor> ps) {
        for (Tensor p : ps) {
            p.clearGrad();
            p.close();
        }
    }

    /** A reference step of one parameter: p, g, and its state arrays, with its step count. */
    interface RefStep {
        void step(int param, double[] p, double[] g, double[][] state, long t);
    }

    /**
     * Runs STEPS steps of opt on params made on d and the reference beside them; returns the final
     * parameters (as floats) after checking them against the reference (relative tolerance tol).
     */
    static float[][] run(Device d, DType dtype, Function<List<Tensor>, Optimizer> make, RefStep ref, double tol,
                         boolean master, double gradScale) {
        Random r = new Random(42);
        List<Tensor> ps = params(d, dtype, r);
        double[][] p = new double[ps.size()][], state1 = new double[ps.size()][], state2 = new double[ps.size()][];
        for (int i = 0; i < ps.size(); i++) {
            p[i] = OptimReference.toDouble(ps.get(i).to(DType.F32).toFloatArray());
            state1[i] = new double[p[i].length];
            state2[i] = new double[p[i].length];
        }
        long[] t = new long[ps.size()];
        try (Optimizer opt = make.apply(ps)) {
            for (int s = 0; s < STEPS; s++) {
                double[][] g = new double[ps.size()][];
                for (int i = 0; i < ps.size(); i++) {
                    if (i == LATE && s < LATE_FROM) {
                        ps.get(i).clearGrad();
                        continue;
                    }
                    float[] gf = random(r, p[i].length, gradScale * (1 + s));
                    if (dtype == DType.BF16) for (int k = 0; k < gf.length; k++) gf[k] = bf16(gf[k]);
                    setGrad(ps.get(i), gf);
                    g[i] = OptimReference.toDouble(gf);
                }
                double clip = opt instanceof AdamW a && a.options().maxGradNorm() > 0 ? a.options().maxGradNorm()
                        : opt instanceof Sgd q && q.options().maxGradNorm() > 0 ? q.options().maxGradNorm() : 0;
                if (clip > 0) {
                    List<double[]> present = new ArrayList<>();
                    for (double[] gi : g) if (gi != null) present.add(gi);
                    double scale = OptimReference.clipScale(clip, OptimReference.norm(present.toArray(new double[0][])));
                    for (double[] gi : g) if (gi != null) for (int k = 0; k < gi.length; k++) gi[k] *= scale;
                }
                opt.step();
                for (int i = 0; i < ps.size(); i++) {
                    if (g[i] == null) continue;
                    t[i]++;
                    ref.step(i, p[i], g[i], new double[][] {state1[i], state2[i]}, t[i]);
                    if (dtype != DType.F32 && !master) for (int k = 0; k < p[i].length; k++) p[i][k] = bf16((float) p[i][k]);
                }
            }
            float[][] out = new float[ps.size()][];
            for (int i = 0; i < ps.size(); i++) {
                assertEquals(t[i], opt.stepCount(ps.get(i)), "step count of param " + i);
                Tensor m = opt.masterWeights(ps.get(i));
                float[] got = master && dtype != DType.F32 ? m.toFloatArray() : ps.get(i).to(DType.F32).toFloatArray();
                if (master && dtype != DType.F32) {
                    float[] rounded = ps.get(i).to(DType.F32).toFloatArray();
                    for (int k = 0; k < got.length; k++)
                        assertEquals(bf16(got[k]), rounded[k], 0.0f, "param " + i + "[" + k + "] is its master weight rounded");
                } else {
                    assertNull(m, "no master weights for param " + i);
                }
                for (int k = 0; k < got.length; k++) {
                    double want = p[i][k];
                    if (!(Math.abs(got[k] - want) <= tol * (1 + Math.abs(want))))
                        fail(d + " param " + i + "[" + k + "]: got " + got[k] + ", want " + want + " (tolerance " + tol + ")");
                }
                out[i] = got;
            }
            return out;
        } finally {
            closeAll(ps);
        }
    }

    static RefStep adamwRef(AdamW.Options o) {
        return (i, p, g, st, t) -> OptimReference.adamw(p, g, st[0], st[1], t, o.lr(), o.beta1(), o.beta2(), o.eps(),
                o.weightDecay());
    }

    static RefStep sgdRef(Sgd.Options o) {
        return (i, p, g, st, t) -> OptimReference.sgd(p, g, o.momentum() != 0 ? st[0] : null, t == 1, o.lr(), o.momentum(),
                o.dampening(), o.weightDecay(), o.nesterov());
    }

    static final AdamW.Options ADAMW = AdamW.Options.defaults().lr(1e-2).weightDecay(0.1);

    static final Sgd.Options[] SGDS = {
        Sgd.Options.defaults().lr(0.05),
        Sgd.Options.defaults().lr(0.05).momentum(0.9).dampening(0.25),
        Sgd.Options.defaults().lr(0.05).momentum(0.9).nesterov(true),
        Sgd.Options.defaults().lr(0.05).momentum(0.5).weightDecay(0.01),
    };

    @ParameterizedTest
    @MethodSource("devices")
    void adamwF32(Device d) {
        run(d, DType.F32, ps -> new AdamW(ps, ADAMW), adamwRef(ADAMW), 2e-5, false, 1.0);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void adamwDefaults(Device d) {
        AdamW.Options o = AdamW.Options.defaults();
        run(d, DType.F32, AdamW::new, adamwRef(o), 2e-5, false, 1e-3);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void sgdF32(Device d) {
        for (Sgd.Options o : SGDS) run(d, DType.F32, ps -> new Sgd(ps, o), sgdRef(o), 2e-5, false, 1.0);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void bf16WithMasterWeights(Device d) {
        AdamW.Options o = ADAMW.masterWeights(true);
        run(d, DType.BF16, ps -> new AdamW(ps, o), adamwRef(o), 2e-5, true, 1.0);
        Sgd.Options s = SGDS[2].masterWeights(true);
        run(d, DType.BF16, ps -> new Sgd(ps, s), sgdRef(s), 2e-5, true, 1.0);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void bf16WithoutMasterWeights(Device d) {
        // updated in f32 and rounded back every step: the reference rounds the same way; a rounding
        // that lands on the other side of a tie may differ by one bf16 ulp
        run(d, DType.BF16, ps -> new AdamW(ps, ADAMW), adamwRef(ADAMW), 1e-2, false, 1.0);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void fusedClipping(Device d) {
        AdamW.Options o = ADAMW.maxGradNorm(5.0);
        run(d, DType.F32, ps -> new AdamW(ps, o), adamwRef(o), 2e-5, false, 1.0);
        Sgd.Options s = SGDS[1].maxGradNorm(5.0);
        run(d, DType.F32, ps -> new Sgd(ps, s), sgdRef(s), 2e-5, false, 1.0);
    }

    /** The update is written once for every backend, each operation rounded on its own: the same bits. */
    @Test
    void sameBitsOnEveryBackend() {
        List<Device> ds = devices().toList();
        assertTrue(ds.size() >= 1);
        float[][] first = null;
        for (Device d : ds) {
            float[][] a = run(d, DType.F32, ps -> new AdamW(ps, ADAMW), adamwRef(ADAMW), 2e-5, false, 1.0);
            float[][] s = run(d, DType.BF16, ps -> new Sgd(ps, SGDS[2].masterWeights(true)), sgdRef(SGDS[2]), 2e-5, true, 1.0);
            float[][] both = Stream.concat(Stream.of(a), Stream.of(s)).toArray(float[][]::new);
            if (first == null) first = both;
            else for (int i = 0; i < both.length; i++) assertArrayEquals(first[i], both[i], "param " + i + " on " + d);
        }
    }

    /**
     * Parameters, gradients and master weights 16-byte aligned take the kernels' packed path,
     * others (here: parameters that are slices one element into a buffer) the element-wise one:
     * the same per-element math, so the same bits. f32 and bf16 with master weights.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void unalignedParametersGiveTheSameBits(Device d) {
        long[] sizes = {7, 70001, 1000, 9};
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            AdamW.Options o = ADAMW.masterWeights(true);
            float[][] aligned = null;
            for (boolean offset : new boolean[] {false, true}) {
                Random r = new Random(5);
                List<Tensor> ps = new ArrayList<>(), bases = new ArrayList<>();
                for (long n : sizes) {
                    float[] v = random(r, (int) n + 1, 1.0);
                    Tensor base = Scope.detach(Tensor.of(v, new long[] {n + 1}, d).to(dtype));
                    bases.add(base);
                    ps.add(offset ? Scope.detach(base.narrow(0, 1, n)) : Scope.detach(base.narrow(0, 1, n).contiguous()));
                }
                try (AdamW opt = new AdamW(ps, o)) {
                    for (int s = 0; s < 3; s++) {
                        for (Tensor p : ps) {
                            float[] g = random(r, (int) p.numel(), 1.0);
                            if (dtype == DType.BF16) for (int k = 0; k < g.length; k++) g[k] = bf16(g[k]);
                            setGrad(p, g);
                        }
                        opt.step();
                    }
                    float[][] got = new float[ps.size()][];
                    for (int i = 0; i < ps.size(); i++) got[i] = ps.get(i).to(DType.F32).toFloatArray();
                    if (aligned == null) aligned = got;
                    else for (int i = 0; i < got.length; i++) assertArrayEquals(aligned[i], got[i], dtype + " param " + i + " on " + d);
                } finally {
                    closeAll(ps);
                    bases.forEach(Tensor::close);
                }
            }
        }
    }

    /**
     * One optimizer over parameters of three dtypes (one launch per dtype, the table's chunks
     * grouped by dtype) gives each the bits an optimizer over it alone gives.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void mixedDtypesAsIfAlone(Device d) {
        DType[] dtypes = {DType.F32, DType.BF16, DType.F16, DType.F32, DType.BF16};
        long[] sizes = {70001, 13, 1000, 5, 66000};
        AdamW.Options o = ADAMW.masterWeights(true);
        float[][] together = null;
        for (boolean alone : new boolean[] {false, true}) {
            Random r = new Random(9);
            List<Tensor> ps = new ArrayList<>();
            for (int i = 0; i < sizes.length; i++)
                ps.add(Scope.detach(Tensor.of(random(r, (int) sizes[i], 1.0), new long[] {sizes[i]}, d).to(dtypes[i])));
            List<AdamW> opts = new ArrayList<>();
            if (alone) for (Tensor p : ps) opts.add(new AdamW(List.of(p), o));
            else opts.add(new AdamW(ps, o));
            try {
                for (int s = 0; s < 3; s++) {
                    for (Tensor p : ps) {
                        float[] g = random(r, (int) p.numel(), 1.0);
                        Tensor t = Tensor.of(g, p.shape(), d);
                        p.clearGrad();
                        Access.gradSlot(p).grad = Scope.detach(t.to(p.dtype()));
                        t.close();
                    }
                    for (AdamW opt : opts) opt.step();
                }
                float[][] got = new float[ps.size()][];
                for (int i = 0; i < ps.size(); i++) got[i] = ps.get(i).to(DType.F32).toFloatArray();
                if (together == null) together = got;
                else for (int i = 0; i < got.length; i++) assertArrayEquals(together[i], got[i], dtypes[i] + " param " + i + " on " + d);
            } finally {
                opts.forEach(AdamW::close);
                closeAll(ps);
            }
        }
    }

    static double[][] grads(Random r, double scale) {
        double[][] g = new double[SHAPES.length][];
        for (int i = 0; i < SHAPES.length; i++) g[i] = OptimReference.toDouble(random(r, numel(SHAPES[i]), scale));
        return g;
    }

    /** clipGradNorm: the returned norm and the clipped gradients; below the limit nothing changes. */
    @ParameterizedTest
    @MethodSource("devices")
    void clipGradNorm(Device d) {
        for (double maxNorm : new double[] {1.0, 1e6}) {
            try (Scope scope = Scope.open()) {
                Random r = new Random(7);
                List<Tensor> ps = params(d, DType.F32, r);
                double[][] g = grads(r, 0.5);
                for (int i = 0; i < ps.size(); i++) {
                    if (i == LATE) continue;  // no gradient: skipped
                    float[] gf = new float[g[i].length];
                    for (int k = 0; k < gf.length; k++) gf[k] = (float) g[i][k];
                    setGrad(ps.get(i), gf);
                }
                g[LATE] = new double[0];
                double norm = OptimReference.norm(g);
                double got = ClipGrad.clipGradNorm(ps, maxNorm);
                assertEquals(norm, got, 1e-5 * norm, "total norm on " + d);
                double scale = OptimReference.clipScale(maxNorm, norm);
                for (int i = 0; i < ps.size(); i++) {
                    if (i == LATE) {
                        assertNull(ps.get(i).grad());
                        continue;
                    }
                    float[] c = ps.get(i).grad().toFloatArray();
                    for (int k = 0; k < c.length; k++) {
                        float want = scale >= 1 ? (float) g[i][k] : (float) g[i][k] * (float) scale;
                        assertEquals(want, c[k], 1e-6 * (1 + Math.abs(want)), "grad " + i + "[" + k + "]");
                    }
                    if (scale >= 1) assertArrayEquals(toFloat(g[i]), c, "unclipped grads keep their bits");
                }
                closeAll(ps);
            }
        }
        try (Scope scope = Scope.open()) {
            List<Tensor> ps = params(d, DType.F32, new Random(1));
            assertEquals(0.0, ClipGrad.clipGradNorm(ps, 1.0), "no gradient: norm 0");
            closeAll(ps);
        }
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    /** The norm's two-pass sum has a fixed order: the same bits every run and in every emu schedule. */
    @Test
    void clipIsDeterministic() {
        EmuSchedules.assumeEmu();
        Device emu = devices().filter(x -> x.type() == Device.Type.EMU).findFirst().orElseThrow();
        float[] once = EmuSchedules.sameInEveryOrder("clip_grad_norm", 3, () -> {
            try (Scope scope = Scope.open()) {
                Random r = new Random(11);
                List<Tensor> ps = params(emu, DType.F32, r);
                double[][] g = grads(r, 2.0);
                for (int i = 0; i < ps.size(); i++) setGrad(ps.get(i), toFloat(g[i]));
                float norm = (float) ClipGrad.clipGradNorm(ps, 1.0);
                float[] big = ps.get(4).grad().toFloatArray();
                float[] out = new float[big.length + 1];
                out[0] = norm;
                System.arraycopy(big, 0, out, 1, big.length);
                closeAll(ps);
                return out;
            }
        });
        assertTrue(once[0] > 1);
    }
}
